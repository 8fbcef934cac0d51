//! One coupling-flow fit on a 2-D toy with known density, printing the test NLL − entropy gap
//! at four checkpoints of training: the tool behind the `coupling-toy-fits` presets.
//!
//! ```text
//! cargo run --release -p flow-bench --example coupling_toy_fit -- \
//!     --toy eight-gaussians --model real-nvp --blocks 24 --hidden 64,64 --clamp 4 --steps 5000
//! ```
//!
//! `--shards N` trains data-parallel (each minibatch cut into N shards, one per core, on
//! replicas of the flow: `flow_coupling::train::sharded`), on the same minibatches.

use clap::{Parser, ValueEnum};
use flow_bench::experiments::coupling::one_cycle;
use flow_core::nn::Activation;
use flow_core::nn::Module;
use flow_core::train::DataParallel;
use flow_core::{DType, no_grad};
use flow_coupling::Trainer;
use flow_coupling::train::nll::{Dataset, nll_loss};
use flow_coupling::{Flow, Mixing, NsfConfig, RealNvpConfig, SoftClamp, SplineConfig};
use flow_data::toy::Toy2d;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[derive(Clone, Copy, ValueEnum)]
enum ToyArg {
    TwoMoons,
    EightGaussians,
    Checkerboard,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelArg {
    RealNvp,
    Nsf,
}

#[derive(Clone, Copy, ValueEnum)]
enum MixingArg {
    Alternate,
    Lu,
    Rotation,
}

/// Fit one RealNVP or NSF to a 2-D toy and print NLL − H.
#[derive(Parser, Clone)]
struct Args {
    #[arg(long, value_enum, default_value = "eight-gaussians")]
    toy: ToyArg,
    #[arg(long, value_enum, default_value = "real-nvp")]
    model: ModelArg,
    #[arg(long, default_value_t = 24)]
    blocks: usize,
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    hidden: Vec<usize>,
    /// Log-scale soft-clamp bound (RealNVP).
    #[arg(long, default_value_t = 4.0)]
    clamp: f64,
    /// Use FrEIA's atan soft clamp instead of tanh (RealNVP).
    #[arg(long)]
    atan: bool,
    #[arg(long, value_enum, default_value = "alternate")]
    mixing: MixingArg,
    /// Spline bins (NSF).
    #[arg(long, default_value_t = 16)]
    bins: usize,
    #[arg(long, default_value_t = 5000)]
    steps: u64,
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Peak learning rate of the one-cycle schedule.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 50_000)]
    train_samples: usize,
    #[arg(long, default_value_t = 20_000)]
    test_samples: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cut each minibatch into this many shards run one per core (0: the ops' own threads).
    #[arg(long, default_value_t = 0)]
    shards: usize,
}

fn build(args: &Args, rng: &mut Xoshiro256PlusPlus) -> Flow {
    let mixing = match args.mixing {
        MixingArg::Alternate => Mixing::Alternate,
        MixingArg::Lu => Mixing::LuLinear,
        MixingArg::Rotation => Mixing::FixedRotation,
    };
    match args.model {
        ModelArg::RealNvp => RealNvpConfig::new(2)
            .with_clamp(args.clamp)
            .with_soft_clamp(if args.atan {
                SoftClamp::Atan
            } else {
                SoftClamp::Tanh
            })
            .with_blocks(args.blocks)
            .with_hidden(&args.hidden)
            .with_activation(Activation::Relu)
            .with_mixing(mixing)
            .build(DType::F32, rng),
        ModelArg::Nsf => NsfConfig::new(2)
            .with_blocks(args.blocks)
            .with_hidden(&args.hidden)
            .with_spline(SplineConfig::new(args.bins, 4.0))
            .build(DType::F32, rng),
    }
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let args = Args::parse();
    let toy = match args.toy {
        ToyArg::TwoMoons => Toy2d::TWO_MOONS,
        ToyArg::EightGaussians => Toy2d::EIGHT_GAUSSIANS,
        ToyArg::Checkerboard => Toy2d::Checkerboard,
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let train = Dataset::new(toy.sample(args.train_samples, DType::F32, &mut rng), None);
    let test_x = toy.sample(args.test_samples, DType::F64, &mut rng);
    let log_p = toy
        .log_density(&test_x)
        .expect("toy with a density")
        .to_vec_f64();
    let test = test_x.to_dtype(DType::F32);
    // Replicas for `--shards` are built from the same generator state, so their fixed
    // permutations equal the flow's (their parameters are the flow's at every step).
    let replica_rng = rng.clone();
    let flow = build(&args, &mut rng);
    let replica_args = args.clone();
    let dp = DataParallel::new(args.shards.max(1), move || {
        let f = build(&replica_args, &mut replica_rng.clone());
        let params = f.parameters();
        (f, params)
    });
    flow.initialize(&train.x.narrow(0, 0, 4096.min(args.train_samples)), None);
    let steps = args.steps;
    let config = one_cycle(steps, args.batch, args.lr).with_seed(args.seed);
    let mut trainer = Trainer::new(&flow, config);
    let start = std::time::Instant::now();
    for quarter in 1..=4 {
        let until = steps * quarter / 4;
        let done = if args.shards > 0 {
            trainer.run_sharded(
                until,
                &dp,
                |r| (train.batch(args.batch, r).0.data().clone(), args.batch),
                |f, shard, x| nll_loss(f, &shard.take(x), None),
            )
        } else {
            trainer.run_until(until, |f, r| {
                let (x, _) = train.batch(args.batch, r);
                nll_loss(f, &x, None)
            })
        };
        done.unwrap_or_else(|e| panic!("training stopped: {e}"));
        let log_q = no_grad(|| flow.log_prob(&test, None).to_vec_f64());
        let gap = log_p.iter().zip(&log_q).map(|(p, q)| p - q).sum::<f64>() / log_p.len() as f64;
        println!(
            "step {until:>6}: NLL − H = {gap:.4} nats ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
    }
}
