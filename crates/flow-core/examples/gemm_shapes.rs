//! The GEMM choice, measured: flow-core's matrix product (faer, `ops/gemm.rs`) against
//! ndarray's matrixmultiply backend (the previous one) on the shapes of the workspace's steps.
//!
//! `RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1 cargo run --release -p flow-core --example gemm_shapes`
//!
//! For each `m×k×n` (f32) it prints the best of 15 timed blocks for both and the GFLOP/s
//! (`2mkn / t`). Thread counts come from the two variables (give both the same value).
//! It keeps freed memory in the process (`allocator::keep_freed_memory`, as the benches do):
//! without that every fresh output was page-faulted in again, and at two threads the
//! 512×256·256×256 product read 283 µs instead of 204–218 (session 21, Intel Xeon).

use flow_core::Tensor;
use ndarray::Array2;
use ndarray::linalg::general_mat_mul;
use std::time::Instant;

fn best_of<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unset".into());
    let shapes: [(usize, usize, usize, &str); 9] = [
        (512, 8, 256, "MLP layer 1"),
        (512, 256, 256, "MLP hidden layer"),
        (512, 256, 8, "MLP output layer"),
        (256, 512, 256, "MLP weight gradient"),
        (512, 2, 64, "coupling subnet in (2-D)"),
        (512, 64, 64, "coupling subnet hidden"),
        (512, 64, 2, "coupling subnet out (2-D)"),
        (64, 512, 64, "coupling weight gradient"),
        (1024, 1024, 1024, "large square"),
    ];
    let (rayon, mm) = (env("RAYON_NUM_THREADS"), env("MATMUL_NUM_THREADS"));
    println!("RAYON_NUM_THREADS={rayon}, MATMUL_NUM_THREADS={mm}");
    println!("| shape m×k×n | role | matrixmultiply | faer (flow-core) | speed-up |");
    println!("|---|---|---:|---:|---:|");
    for (m, k, n, role) in shapes {
        let a = Array2::<f32>::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 13) as f32 / 13.0);
        let b = Array2::<f32>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 11) as f32 / 11.0);
        let mut c = Array2::<f32>::zeros((m, n));
        let flops = 2.0 * (m * k * n) as f64;
        let reps = (2e8 / flops).clamp(1.0, 10_000.0) as usize;
        let t_mm = best_of(reps, || general_mat_mul(1.0, &a, &b, 0.0, &mut c));
        let (ta, tb) = (
            Tensor::from_array(a.clone().into_dyn()),
            Tensor::from_array(b.clone().into_dyn()),
        );
        let t_faer = best_of(reps, || drop(ta.matmul(&tb)));
        let gf = |t: f64| flops / t / 1e9;
        println!(
            "| {m}×{k}×{n} | {role} | {:.1} µs ({:.0} GFLOP/s) | {:.1} µs ({:.0} GFLOP/s) | {:.2}× |",
            t_mm * 1e6,
            gf(t_mm),
            t_faer * 1e6,
            gf(t_faer),
            t_mm / t_faer
        );
    }
}
