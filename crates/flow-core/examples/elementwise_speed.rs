//! Time of flow-core's element-wise ops on one 512×256 f32 activation (the hidden layer of
//! the reference MLP step at batch 512), inference mode, mean of 2000 calls after 50 warm-up
//! calls. The instruction-set paths of `fastmath::simd` were chosen with it (BENCHMARKS.md,
//! session 13).
//!
//! `FLOWS_THREADS=1 cargo run --release -p flow-core --example elementwise_speed`

use flow_core::{DType, Tensor, no_grad};
use rand::SeedableRng;
use std::time::Instant;

/// An op under test: its name and the call.
type Op<'a> = (&'a str, &'a dyn Fn(&Tensor) -> Tensor);

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let x = Tensor::randn(&[512, 256], DType::F32, &mut rng);
    let g = Tensor::randn(&[512, 256], DType::F32, &mut rng);
    let ops: [Op; 7] = [
        ("silu", &|x| x.silu()),
        ("sigmoid", &|x| x.sigmoid()),
        ("tanh", &|x| x.tanh()),
        ("exp", &|x| x.exp()),
        ("neg", &|x| x.neg()),
        ("mul", &|x| x.mul(&g)),
        ("add", &|x| x.add(&g)),
    ];
    let calls = 2000;
    println!("| op | µs per call | ns per element |\n|---|---:|---:|");
    for (name, f) in ops {
        no_grad(|| (0..50).for_each(|_| drop(f(&x))));
        let t = Instant::now();
        no_grad(|| (0..calls).for_each(|_| drop(std::hint::black_box(f(&x)))));
        let us = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
        println!("| {name} | {us:.1} | {:.2} |", us * 1e3 / (512.0 * 256.0));
    }
    // Recorded: SiLU then writes σ(x) beside its value (one two-output pass).
    let xr = x.requires_grad();
    (0..50).for_each(|_| drop(xr.silu()));
    let t = Instant::now();
    (0..calls).for_each(|_| drop(std::hint::black_box(xr.silu())));
    let us = t.elapsed().as_secs_f64() / calls as f64 * 1e6;
    println!(
        "| silu, recorded (keeps σ) | {us:.1} | {:.2} |",
        us * 1e3 / (512.0 * 256.0)
    );
}
