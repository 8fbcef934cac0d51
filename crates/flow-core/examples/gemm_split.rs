//! The cost of cutting one product into P row blocks run one after another on one thread
//! (faer, f32), and whether the blocks give the same bits as the whole product: the
//! measurement behind `MIN_PART_ROWS` in `ops/gemm.rs`.
//!
//! `cargo run --release -p flow-core --example gemm_split`
use faer::{Accum, MatMut, MatRef, Par};
use std::time::Instant;
fn main() {
    for &(m, k, n) in &[
        (512usize, 256usize, 256usize),
        (256, 512, 256),
        (512, 8, 256),
        (512, 256, 8),
        (512, 64, 64),
    ] {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 104729) % 1000) as f32 / 1000.0)
            .collect();
        let mut c = vec![0f32; m * n];
        let mut line = format!("{m}x{k}x{n}:");
        let mut reference: Option<Vec<f32>> = None;
        for p in [1usize, 2, 4, 8] {
            let rows = m.div_ceil(p);
            let run = |c: &mut [f32]| {
                for (bi, cb) in c.chunks_mut(rows * n).enumerate() {
                    let r = cb.len() / n;
                    let ab = &a[bi * rows * k..bi * rows * k + r * k];
                    faer::linalg::matmul::matmul(
                        MatMut::from_row_major_slice_mut(cb, r, n),
                        Accum::Replace,
                        MatRef::from_row_major_slice(ab, r, k),
                        MatRef::from_row_major_slice(&b, k, n),
                        1.0f32,
                        Par::Seq,
                    );
                }
            };
            run(&mut c);
            let mut best = f64::INFINITY;
            for _ in 0..9 {
                let t = Instant::now();
                for _ in 0..20 {
                    run(&mut c);
                }
                best = best.min(t.elapsed().as_secs_f64() / 20.0 * 1e6);
            }
            let same = match &reference {
                None => {
                    reference = Some(c.clone());
                    true
                }
                Some(r) => r.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()),
            };
            line += &format!(
                "  P={p}: {best:.1}us{}",
                if same { "" } else { " (DIFFERENT bits)" }
            );
        }
        println!("{line}");
    }
}
