//! The cost of waking the second thread: one 512×256·256×256 f32 product after a serial gap
//! of 0–1000 µs (busy spinning on the calling thread, as the element-wise work of a training
//! step does), median and 90th percentile of 300 calls.
//!
//! `cargo run --release -p flow-core --example gemm_wall -- THREADS`
//!
//! With rayon's pool a gap of ≥ 100 µs let its workers sleep and one call in ten ran at
//! single-thread speed; the spinning team of `parallel/team.rs` keeps the p90 near the median
//! (BENCHMARKS.md). Freed memory stays in the process (`allocator::keep_freed_memory`, as in
//! the benches), so fresh outputs are not page-faulted in again on every call.
use flow_core::{DType, Tensor};
use rand::SeedableRng;
use std::time::Instant;
fn spin(us: f64) {
    let t = Instant::now();
    while t.elapsed().as_secs_f64() * 1e6 < us {
        std::hint::spin_loop();
    }
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let th: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    flow_core::parallel::set_threads(th);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let (m, k, n) = (512usize, 256usize, 256usize);
    let a = Tensor::randn(&[m, k], DType::F32, &mut rng);
    let b = Tensor::randn(&[k, n], DType::F32, &mut rng);
    for gap in [0.0, 20.0, 100.0, 300.0, 1000.0] {
        let mut ts = vec![];
        for _ in 0..300 {
            spin(gap);
            let t = Instant::now();
            std::hint::black_box(a.matmul(&b));
            ts.push(t.elapsed().as_secs_f64() * 1e6);
        }
        ts.sort_by(f64::total_cmp);
        println!(
            "threads {th} gap {gap:>6} us: GEMM median {:.1} us, p90 {:.1} us",
            ts[150], ts[270]
        );
    }
}
