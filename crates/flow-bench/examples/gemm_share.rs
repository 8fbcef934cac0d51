//! The MLP step's share of the machine's GEMM rate (issue 14: "the MLP step at ≥ 70 % of the
//! machine's f32 GEMM rate for its FLOPs"), measured so that the VM's drift cancels:
//!
//! `cargo run --release -p flow-bench --example gemm_share -- [rounds]`
//!
//! The step is the reference MLP step of `benches/core.rs` (8→256→256→8, SiLU, batch 512,
//! f32, MSE, Adam), one graph and sharded. Its FLOP count is computed from the layer shapes
//! of the model it times (`2·batch·in·out` per product: the forward products, every weight
//! gradient, and the input gradients of all but the first layer). The GEMM rate is flow-core's
//! own product (faer under the team, the same code path and thread count as the step) on the
//! step's largest shape, `[512,256]·[256,256]`.
//!
//! Why alternate in one process: on the shared VMs we measure on, the speed of memory-bound
//! work drifts by up to 1.5× within minutes while a product whose operands sit in cache does
//! not, so a peak measured minutes apart from the step says little. Each round times a block
//! of products, a block of steps of each kind and a block of products again (medians per call),
//! and the round's share is `FLOPs / step time / rate`, the rate from the faster of the two
//! product blocks around the steps (a block slowed by another tenant would flatter the share).
//! The table gives the median and range over rounds.

use flow_bench::timing::median_secs;
use flow_core::nn::{Mlp, Module, Param};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::train::{DataParallel, Shard};
use flow_core::{DType, Data, Tensor, grad};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[path = "../benches/common/workloads.rs"]
#[allow(dead_code)] // the free-form loss is not needed here
mod workloads;
use workloads::{SHARDS, enc_dec, mlp};

const BATCH: usize = 512;

/// FLOPs of one training step of `model` at `batch` rows: for a layer with an `[out, in]`
/// weight, `2·batch·in·out` for the forward product, as much for the weight gradient, and as
/// much again for the input gradient except at the first layer (the data needs none).
fn step_flops(model: &Mlp, batch: usize) -> f64 {
    let weights: Vec<Vec<usize>> = model
        .parameters()
        .iter()
        .map(|p| p.get().shape().to_vec())
        .filter(|s| s.len() == 2)
        .collect();
    weights
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let product = 2.0 * (batch * s[0] * s[1]) as f64;
            if i == 0 { 2.0 * product } else { 3.0 * product }
        })
        .sum()
}

fn median_range(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(10, |s| s.parse().expect("rounds: a positive integer"));
    assert!(rounds > 0, "rounds: a positive integer");
    // The bench's model and data (seed 0: the two MLPs, then x).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let enc = mlp("enc", &mut rng);
    let _dec = mlp("dec", &mut rng);
    let x = Tensor::randn(&[BATCH, 8], DType::F32, &mut rng);
    let xd: Data = x.data().clone();
    let params = enc.parameters();
    let flops = step_flops(&enc, BATCH);
    let dp = DataParallel::new(SHARDS, || {
        let ((enc, _), _) = enc_dec();
        let p = enc.parameters();
        (enc, p)
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    let one_graph = |params: &[Param], opt: &mut Adam| {
        let loss = enc.forward(&x).sub(&x).square().mean_all();
        let leaves: Vec<Tensor> = params.iter().map(Param::get).collect();
        let grads = grad(&loss, &leaves.iter().collect::<Vec<_>>());
        opt.step(params, &grads);
    };
    let sharded = |params: &[Param], opt: &mut Adam| {
        let out = dp.grad(&enc, params, BATCH, 0, |m: &Mlp, s: &Shard| {
            let xs = s.take(&xd);
            m.forward(&xs).sub(&xs).square().mean_all().into()
        });
        opt.step(params, &out.grads);
    };
    let a = Tensor::randn(&[BATCH, 256], DType::F32, &mut rng);
    let b = Tensor::randn(&[256, 256], DType::F32, &mut rng);
    let product_flops = 2.0 * (BATCH * 256 * 256) as f64;
    let mut product = || {
        std::hint::black_box(a.matmul(&b));
    };
    // Warm-up: the team, the replicas, the allocator's free lists.
    for _ in 0..50 {
        one_graph(&params, &mut opt);
        sharded(&params, &mut opt);
        product();
    }
    let (mut rates, mut shares_one, mut shares_sharded) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let before = median_secs(200, &mut product);
        let t_sharded = median_secs(200, || sharded(&params, &mut opt));
        let t_one = median_secs(200, || one_graph(&params, &mut opt));
        let after = median_secs(200, &mut product);
        // The faster block: one slowed by another tenant would flatter the share.
        let rate = product_flops / before.min(after);
        eprintln!(
            "round {}/{rounds}: product {:.1} / {:.1} µs ({:.0} GFLOP/s), step sharded {:.3} ms, one graph {:.3} ms",
            r + 1,
            before * 1e6,
            after * 1e6,
            rate / 1e9,
            t_sharded * 1e3,
            t_one * 1e3
        );
        rates.push(rate / 1e9);
        shares_sharded.push(flops / t_sharded / rate);
        shares_one.push(flops / t_one / rate);
    }
    let threads = flow_core::parallel::gemm_threads();
    println!(
        "MLP step: {:.1} MFLOP per step (batch {BATCH}); GEMM rate: [{BATCH},256]·[256,256] through flow-core at {threads} threads; {rounds} rounds\n",
        flops / 1e6
    );
    println!("| quantity | median | range |");
    println!("|---|---:|---|");
    let (m, lo, hi) = median_range(rates);
    println!("| GEMM rate, GFLOP/s | {m:.0} | {lo:.0}–{hi:.0} |");
    for (label, v) in [
        ("MLP step, sharded", shares_sharded),
        ("MLP step, one graph", shares_one),
    ] {
        let (m, lo, hi) = median_range(v);
        println!(
            "| {label}: share of the GEMM rate | {:.0} % | {:.0}–{:.0} % |",
            100.0 * m,
            100.0 * lo,
            100.0 * hi
        );
    }
}
