//! The outer-product kernel (`ops/gemm_outer.rs`) against faer on the weight gradients of
//! narrow layers, `C = Aᵀ B` with both operands stored `k`-major:
//!
//! `FLOWS_THREADS=1 cargo run --release -p flow-core --example gemm_outer`
//!
//! "flow-core" is `Tensor::transposed_matmul` at the thread count `FLOWS_THREADS` gives, with
//! its allocation and tensor wrapping: the kernel on the shapes with few columns, faer on the
//! mirror shapes with few rows (listed to show why the kernel leaves them to faer). "faer" is
//! faer's product on the same operands into a reused buffer, one thread; on the few-column
//! shapes flow-core ran `gemm_skinny` before the kernel (`[256,512]·[512,8]`: 33 µs,
//! session 22). Best of 15 alternated blocks of ~2 ms, operands in cache: the kernel alone,
//! not its share of a step, where the operands come from L3 and the gain is smaller
//! (BENCHMARKS.md, session 22). Both sum in the same order, so the outputs are also compared
//! bit for bit. The binary declares [`flow_core::allocator::CacheAligned`], as the benches
//! do: faer's speed on these shapes depends on the operands starting on a cache line.

use std::time::Instant;

use faer::{Accum, MatMut, MatRef, Par};
use flow_core::{DType, Tensor};
use rand::SeedableRng;

/// Best time per call of `a` and of `b` over 15 rounds, each round a block of `reps` calls
/// of one then of the other (alternated, so that drift of the machine's speed hits both).
fn best_of_alternated(reps: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let block = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    (0..15).fold((f64::INFINITY, f64::INFINITY), |(ta, tb), _| {
        (ta.min(block(&mut a)), tb.min(block(&mut b)))
    })
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let shapes: [(usize, usize, usize, &str); 5] = [
        (256, 512, 8, "first layer of an 8-input MLP, ȳᵀ x"),
        (64, 512, 4, "coupling subnet's first layer (8-D)"),
        (256, 512, 2, "first layer of a 2-input MLP"),
        (8, 512, 256, "last layer of an 8-output MLP, ȳᵀ h (faer)"),
        (8, 512, 64, "coupling subnet's last layer (8-D, faer)"),
    ];
    println!(
        "FLOWS_THREADS={}",
        std::env::var("FLOWS_THREADS").unwrap_or_else(|_| "unset".into())
    );
    println!("| m×k×n | role | flow-core | faer, one thread | speed-up | same bits |");
    println!("|---|---|---:|---:|---:|---|");
    for (m, k, n, role) in shapes {
        let a = Tensor::randn(&[k, m], DType::F32, &mut rng);
        let b = Tensor::randn(&[k, n], DType::F32, &mut rng);
        let (av, bv) = (a.to_vec_f32(), b.to_vec_f32());
        let flops = 2.0 * (m * k * n) as f64;
        // Blocks of ~2 ms: in blocks of ~0.1 ms the first calls ran before the core had
        // lowered its clock for AVX-512 work, and read up to 1.5× faster than sustained.
        let reps = (3e8 / flops).clamp(1.0, 100_000.0) as usize;
        let mut c = vec![0.0f32; m * n];
        let faer_product = |c: &mut [f32]| {
            let lhs = MatRef::from_row_major_slice(&av, k, m).transpose();
            let rhs = MatRef::from_row_major_slice(&bv, k, n);
            let out = MatMut::from_row_major_slice_mut(c, m, n);
            faer::linalg::matmul::matmul(out, Accum::Replace, lhs, rhs, 1.0f32, Par::Seq);
        };
        let (ours, theirs) = best_of_alternated(
            reps,
            || drop(a.transposed_matmul(&b)),
            || faer_product(&mut c),
        );
        let same = a
            .transposed_matmul(&b)
            .to_vec_f32()
            .iter()
            .zip(&c)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        let gf = |t: f64| flops / t / 1e9;
        println!(
            "| {m}×{k}×{n} | {role} | {:.1} µs ({:.0} GFLOP/s) | {:.1} µs ({:.0} GFLOP/s) | {:.2}× | {same} |",
            ours * 1e6,
            gf(ours),
            theirs * 1e6,
            gf(theirs),
            theirs / ours
        );
    }
}
