//! The thread-scaling table of `BENCHMARKS.md` (issue 21): wall time of the same work at
//! each thread count of `flow_core::parallel`, with a check that the results are identical.
//!
//! `cargo run --release -p flow-freeform --example parallel_scaling -- [--rounds R] [THREADS...]`
//! (default: 7 rounds, threads `1 2`). Rows: DW4 reference-set generation (256 chains in 8 groups, burn-in
//! 300), exact decoder NLL of a ResNet free-form flow (D = 8, hidden 128×2, 1024 samples,
//! chunks of 64), an element-wise product of 2^22 f64 (a tensor op: a new 32 MB output each call), the same
//! product written into one reused buffer (the machine's memory-bandwidth ceiling for this
//! memory-bound loop) and a sum of 2^22 f64; then the
//! crossover of the element-wise kernel (serial loop against 2 chunks) by size, which sets
//! `PARALLEL_MIN_LEN` in `flow-core/src/ops/kernels.rs`.
//!
//! A shared or virtual machine's speed drifts by tens of percent within a minute, so the thread
//! counts are alternated: each of `R` rounds times every work item once at every thread count
//! (each time the median of 3 calls), and the table gives, per thread count, the median over
//! rounds, and the median and range of the per-round speed-ups (1 thread against the largest
//! count), which cancel the drift that the two medians alone would not.

use std::time::Instant;

use flow_core::parallel::{self, with_threads};
use flow_core::{DType, Tensor};
use flow_data::mcmc::{ReferenceTarget, generate_reference_with};
use flow_freeform::{JacobianSide, Latent, ModelSpec, NetConfig, ResNetConfig, SharedModel};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// A timed piece of work returning its result (for the identity check).
type Work<'a> = Box<dyn Fn() -> Vec<f64> + Sync + 'a>;

/// Median wall time (s) of `reps` calls, and the last result's fingerprint.
fn time(threads: usize, reps: usize, f: &(dyn Fn() -> Vec<f64> + Sync)) -> (f64, u64) {
    let mut ts = Vec::new();
    let mut print = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let v = with_threads(threads, f);
        ts.push(t0.elapsed().as_secs_f64());
        print = v.iter().fold(0u64, |h, x| h.rotate_left(5) ^ x.to_bits());
    }
    (median(&mut ts), print)
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// `(rounds, thread counts)` from the command line.
fn parse_args() -> (usize, Vec<usize>) {
    let mut rounds = 7;
    let mut threads = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rounds" {
            let r = args.next().and_then(|r| r.parse().ok());
            rounds = r
                .filter(|&r| r > 0)
                .expect("--rounds takes a positive integer");
        } else {
            threads.push(a.parse().expect("thread counts are positive integers"));
        }
    }
    if threads.is_empty() {
        threads = vec![1, 2];
    }
    (rounds, threads)
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let (rounds, threads) = parse_args();
    let spec = ModelSpec {
        net: NetConfig::ResNet(ResNetConfig::new(8, 8, &[128, 128], 2)),
        latent: Latent::standard_normal(8),
        dtype: DType::F64,
        seed: 1,
    };
    let shared = SharedModel::new(&spec.build(), &spec);
    let n = 1 << 22;
    let big: Vec<f64> = (0..n).map(|i| ((i as f64) * 1e-3).sin()).collect();
    let work: Vec<(&str, Work)> = vec![
        (
            "reference set (DW4, 2048 samples, 256 chains, burn-in 300)",
            Box::new(|| {
                let set = generate_reference_with(ReferenceTarget::Dw4, 2048, 3, 256, 300);
                set.samples.to_vec_f64()
            }),
        ),
        (
            "exact NLL (ResNet FFF, D = 8, 1024 samples, chunk 64)",
            Box::new(|| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
                let x = Tensor::randn(&[1024, 8], DType::F64, &mut rng);
                let e = shared.exact_log_prob(&x, None, JacobianSide::Decoder, 64);
                e.log_prob.to_vec_f64()
            }),
        ),
        (
            "element-wise a·b, 2^22 f64 (×10)",
            Box::new(|| {
                let a = Tensor::from_vec(big.clone(), &[n]);
                let mut out = a.clone();
                for _ in 0..10 {
                    out = a.mul(&a);
                }
                out.narrow(0, 0, 8).to_vec_f64()
            }),
        ),
        (
            "memory ceiling: a·b of 2^22 f64 into a reused buffer (×10)",
            Box::new(|| {
                let mut out = vec![0.0; n];
                for _ in 0..10 {
                    parallel::fill_chunks(&mut out, 1 << 15, |start, block| {
                        let src = &big[start..start + block.len()];
                        block.iter_mut().zip(src).for_each(|(o, &x)| *o = x * x);
                    });
                }
                out[..8].to_vec()
            }),
        ),
        (
            "sum of 2^22 f64 (×10)",
            Box::new(|| {
                let a = Tensor::from_vec(big.clone(), &[n]);
                (0..10).map(|_| a.sum_all().item()).collect()
            }),
        ),
    ];
    print!("| work |");
    threads.iter().for_each(|t| print!(" {t} thread(s) |"));
    println!(" speed-up, median (range) of {rounds} rounds | identical |");
    println!("|---|{}---|---|", "---|".repeat(threads.len()));
    for (name, f) in &work {
        // times[round][thread count]
        let mut times = vec![vec![0.0; threads.len()]; rounds];
        let mut prints = Vec::new();
        for round in times.iter_mut() {
            for (slot, &t) in round.iter_mut().zip(&threads) {
                let (s, p) = time(t, 3, f.as_ref());
                *slot = s;
                prints.push(p);
            }
        }
        print!("| {name} |");
        for j in 0..threads.len() {
            let mut col: Vec<f64> = times.iter().map(|r| r[j]).collect();
            print!(" {:.3} s |", median(&mut col));
        }
        let mut ups: Vec<f64> = times.iter().map(|r| r[0] / r[r.len() - 1]).collect();
        let m = median(&mut ups);
        let same = prints.iter().all(|&p| p == prints[0]);
        println!(
            " {m:.2}× ({:.2}–{:.2}) | {same} |",
            ups[0],
            ups[ups.len() - 1]
        );
    }
    println!();
    println!("| elements | serial loop | 2 chunks on 2 threads | ratio |");
    println!("|---|---|---|---|");
    for p in [12, 14, 16, 17, 18, 20] {
        let len = 1usize << p;
        let (a, b) = (&big[..len], &big[n - len..]);
        let reps = (1 << 24) / len;
        let t0 = Instant::now();
        for _ in 0..reps {
            let v: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
            std::hint::black_box(v);
        }
        let serial = t0.elapsed().as_secs_f64() / reps as f64;
        let t0 = Instant::now();
        with_threads(2, || {
            for _ in 0..reps {
                std::hint::black_box(parallel::zip_map(a, b, len.div_ceil(2), |x, y| x * y));
            }
        });
        let par = t0.elapsed().as_secs_f64() / reps as f64;
        println!(
            "| 2^{p} | {:.1} µs | {:.1} µs | {:.2} |",
            serial * 1e6,
            par * 1e6,
            serial / par
        );
    }
}
