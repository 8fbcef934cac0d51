//! Times one E(3)-FFF training step (surrogate loss, backward, Adam) on DW4-shaped data.
//!
//! `cargo run --release -p flow-freeform --example egnn_step -- [particles spatial layers hidden
//! batch steps sparse rof]` (defaults: DW4 quick preset, dense message passing, reverse-over-reverse
//! surrogate: 4 2 4 32 128 10 0 0; `rof` = 1 differentiates the surrogate reverse-over-forward).
//! Prints the median step time and the time of one no-grad forward pass of the encoder.

use std::time::Instant;

use flow_core::DType;
use flow_freeform::egnn::MessagePassing;
use flow_freeform::{
    Differentiation, EgnnConfig, FffLossConfig, FreeFormFlow, Latent, TrainConfig, Trainer,
};
use rand::SeedableRng;

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("integer argument"))
        .collect();
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (n, d, layers, hidden, batch, steps) = (
        arg(0, 4),
        arg(1, 2),
        arg(2, 4),
        arg(3, 32),
        arg(4, 128),
        arg(5, 10),
    );
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let passing = if arg(6, 0) == 1 {
        MessagePassing::Sparse
    } else {
        MessagePassing::Dense
    };
    let cfg = EgnnConfig::new(n, d, layers)
        .with_hidden(hidden)
        .with_message_passing(passing);
    let model = FreeFormFlow::new(
        Box::new(cfg.build("encoder", DType::F32, &mut rng)),
        Box::new(cfg.build("decoder", DType::F32, &mut rng)),
        Latent::mean_free(n, d),
    );
    let x = Latent::mean_free(n, d)
        .sample(batch, DType::F32, &mut rng)
        .mul_scalar(2.0);
    let mut trainer = Trainer::new(
        FffLossConfig::new(10.0).with_differentiation(if arg(7, 0) == 1 {
            Differentiation::ReverseOverForward
        } else {
            Differentiation::ReverseOverReverse
        }),
        TrainConfig::new(steps as u64, batch, 1e-3).with_clip(1.0),
    );
    let mut times = Vec::new();
    for _ in 0..steps {
        let t = Instant::now();
        trainer.step(&model, &x, None);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let enc = &model.encoder;
    let t = Instant::now();
    let _ = flow_core::no_grad(|| enc.forward(&x, None));
    let fwd = t.elapsed().as_secs_f64();
    println!(
        "egnn {passing:?} n={n} d={d} layers={layers} hidden={hidden} batch={batch}: step median {:.1} ms (min {:.1}), no-grad forward {:.2} ms",
        1e3 * times[times.len() / 2],
        1e3 * times[0],
        1e3 * fwd
    );
}
