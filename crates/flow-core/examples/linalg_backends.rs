//! Times the dense decompositions of `flow_core::linalg` on 64×64 and 256×256 SPD matrices
//! for every backend compiled in (the `BENCHMARKS.md` table "Dense decompositions").
//!
//! `cargo run --release -p flow-core --example linalg_backends [--features lapack]`
//! Each entry is the median of 31 (n = 64) or 7 (n = 256) calls, in µs.

use std::time::Instant;

use flow_core::linalg::Backend;
use ndarray::Array2;

fn spd(n: usize) -> Array2<f64> {
    let a = Array2::from_shape_fn((n, n), |(i, j)| {
        (((i * 131 + j * 71) % 997) as f64 / 498.5) - 1.0
    });
    a.dot(&a.t()) / n as f64 + Array2::<f64>::eye(n)
}

fn median_us(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[reps / 2]
}

fn main() {
    #[allow(unused_mut)]
    let mut backends = vec![Backend::Nalgebra, Backend::Faer];
    #[cfg(feature = "lapack")]
    backends.push(Backend::Lapack);
    print!("| n | op |");
    backends.iter().for_each(|b| print!(" {b:?} µs |"));
    println!();
    println!("|---|---|{}", "---|".repeat(backends.len()));
    for n in [64, 256] {
        let a = spd(n);
        let reps = if n == 64 { 31 } else { 7 };
        type Op = fn(Backend, &Array2<f64>);
        let ops: [(&str, Op); 4] = [
            ("slogdet", |b, a| {
                std::hint::black_box(b.slogdet(a.view()));
            }),
            ("cholesky", |b, a| {
                std::hint::black_box(b.cholesky(a.view()).expect("SPD"));
            }),
            ("eigh", |b, a| {
                std::hint::black_box(b.eigh(a.view()));
            }),
            ("qr", |b, a| {
                std::hint::black_box(b.qr(a.view()));
            }),
        ];
        for (name, op) in ops {
            print!("| {n} | {name} |");
            for &b in &backends {
                print!(" {:.0} |", median_us(reps, || op(b, &a)));
            }
            println!();
        }
    }
}
