#![allow(unsafe_code)]
//! Times the reference MLP training step (8→256→256→8, SiLU, batch 512, f32, Adam) for
//! profiling: `cargo run --release -p flow-core --example mlp_step -- [threads] [steps] [in_pool]`.
//! Prints the median and mean wall time and the process CPU time per step in ms. With
//! `in_pool` = 1 the whole loop runs on a worker of the compute pool
//! ([`flow_core::parallel::run_in_pool`]), so a parallel GEMM wakes one worker instead of
//! blocking the calling thread. The criterion bench `flow-bench/benches/core.rs` is the
//! measurement of record; this loop exists so `perf record` sees one workload.

use std::time::Instant;

use flow_core::nn::{Activation, MlpConfig, Module, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::{DType, Tensor, grad};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// CPU time of the whole process (all threads), seconds: a load-robust companion to wall time.
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Runs `steps` training steps; returns the sorted wall times (ms) and CPU ms per step.
fn run(steps: usize) -> (Vec<f64>, f64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let enc = MlpConfig::new(8, &[256, 256], 8)
        .with_activation(Activation::Silu)
        .build("enc", DType::F32, &mut rng);
    let x = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let params = enc.parameters();
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    let mut times = Vec::with_capacity(steps);
    let cpu0 = cpu_seconds();
    for _ in 0..steps {
        let t = Instant::now();
        let loss = enc.forward(&x).sub(&x).square().mean_all();
        let leaves = values(&params);
        let grads = grad(&loss, &leaves.iter().collect::<Vec<_>>());
        opt.step(&params, &grads);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu_ms = (cpu_seconds() - cpu0) * 1e3 / steps as f64;
    times.sort_by(f64::total_cmp);
    (times, cpu_ms)
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let threads = args.first().copied().unwrap_or(2);
    let steps = args.get(1).copied().unwrap_or(2000);
    let in_pool = args.get(2).copied().unwrap_or(0) == 1;
    flow_core::allocator::keep_freed_memory();
    flow_core::parallel::set_threads(threads);
    let (times, cpu_ms) = if in_pool {
        flow_core::parallel::with_threads(threads, move || run(steps))
    } else {
        run(steps)
    };
    let mean = times.iter().sum::<f64>() / steps as f64;
    println!(
        "threads {threads} in_pool {in_pool}: median {:.3} ms, mean {mean:.3} ms, CPU {cpu_ms:.3} ms per step",
        times[steps / 2]
    );
}
