//! The one GEMM of the workspace: `C = op_a(A) op_b(B)` on row-major slices, f32 and f64.
//!
//! Backed by faer's matrix product (pure Rust, run-time CPU dispatch with AVX2/AVX-512
//! kernels and small-matrix kernels). It replaced ndarray's matrixmultiply backend after a
//! side-by-side measurement on the workspace's shapes (BENCHMARKS.md, "GEMM backend"): faer
//! was faster on every shape of the MLP, coupling and free-form steps, most on the skinny
//! products of coupling subnets (`[512,256]·[256,8]` about 2.5×) where matrixmultiply has no
//! specialised kernel.
//!
//! Transposes are views (swapped strides), never copies. A product of at least
//! [`PARALLEL_FLOPS`] floating-point operations with enough rows is cut into row blocks of the
//! output ("parts"), a number fixed by the shape alone ([`parts_for`]); the parts run on
//! [`parallel::gemm_threads`](crate::parallel::gemm_threads) threads of the fork–join team
//! (`parallel/team.rs`, which keeps the second core hot between the products of a step) or
//! one after another on the calling thread. Every output element is the same sequence of
//! operations either way, so results are bit-identical for any thread count (tested).
//! Inside a chunk of a parallel helper `gemm_threads` is 1, so nested parallelism never
//! oversubscribes the machine.

use faer::traits::ComplexField;
use faer::{Accum, MatMut, MatRef, Par};

/// Products below this many FLOPs (`2·m·k·n`) are never cut into parts: about 40 µs of
/// work on one core.
pub const PARALLEL_FLOPS: usize = 1 << 22;

/// The fewest output rows in one part. Cutting a 512×256·256×256 product into row blocks and
/// running them one after another costs 0.3 % at 256 rows, 1 % at 128 and 2–10 % at 64 or
/// fewer (faer 0.23, f32, one core; `examples/gemm_split.rs`).
const MIN_PART_ROWS: usize = 128;

/// The most parts of one product.
const MAX_PARTS: usize = 16;

/// How many row blocks a `m`-row product of `flops` operations is cut into: a function of
/// the shape only, never of the thread count, so that results do not depend on it.
fn parts_for(m: usize, flops: usize) -> usize {
    if flops < PARALLEL_FLOPS {
        return 1;
    }
    (flops / (PARALLEL_FLOPS / 2))
        .min(m / MIN_PART_ROWS)
        .clamp(1, MAX_PARTS)
}

/// Element types the GEMM supports (f32 and f64).
pub(crate) trait Gemm: ComplexField + Copy + Send + Sync {}
impl Gemm for f32 {}
impl Gemm for f64 {}

fn view<T: Gemm>(s: &[T], rows: usize, cols: usize, transpose: bool) -> MatRef<'_, T> {
    let m = MatRef::from_row_major_slice(s, rows, cols);
    if transpose { m.transpose() } else { m }
}

#[allow(clippy::too_many_arguments)]
fn gemm_with<T: Gemm>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accum: Accum,
    rows: std::ops::Range<usize>,
) {
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let lhs = view(a, ar, ac, ta).subrows(rows.start, rows.len());
    let rhs = view(b, br, bc, tb);
    let dst = MatMut::from_row_major_slice_mut(c, rows.len(), n);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::one_impl(), Par::Seq);
}

/// The product cut into `parts` row blocks, run on up to `threads` workers of the team
/// (worker `w` takes a contiguous run of parts).
#[allow(clippy::too_many_arguments)]
fn gemm_parts<T: Gemm>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accum: Accum,
    parts: usize,
    threads: usize,
) {
    let rows_per_part = m.div_ceil(parts);
    let blocks: Vec<(usize, &mut [T])> = c
        .chunks_mut(rows_per_part * n)
        .enumerate()
        .map(|(p, block)| (p * rows_per_part, block))
        .collect();
    crate::parallel::team::run_parts(blocks, threads, |(start, block)| {
        let rows = start..start + block.len() / n;
        gemm_with(block, a, b, (m, k, n), ta, tb, accum, rows);
    });
}

/// Writes `op_a(A) op_b(B)` into `c` (`[m, n]`, row-major), where `a` is stored as `[m, k]`
/// (or `[k, m]` when `ta`) and `b` as `[k, n]` (or `[n, k]` when `tb`). With `accumulate` the
/// product is added to `c` (`C += op_a(A) op_b(B)`, how a bias is fused); otherwise `c` is
/// overwritten.
///
/// # Panics
/// If a slice length does not match its stated shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Gemm>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    assert_eq!(
        a.len(),
        m * k,
        "gemm: A holds {} values, not {m}×{k}",
        a.len()
    );
    assert_eq!(
        b.len(),
        k * n,
        "gemm: B holds {} values, not {k}×{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "gemm: C holds {} values, not {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::zero_impl());
        }
        return;
    }
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    match parts_for(m, 2 * m * k * n) {
        1 => gemm_with(c, a, b, (m, k, n), ta, tb, accum, 0..m),
        parts => {
            let threads = crate::parallel::gemm_threads();
            gemm_parts(c, a, b, (m, k, n), ta, tb, accum, parts, threads);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive triple loop, in f64: the oracle.
    fn naive(
        a: &[f64],
        b: &[f64],
        (m, k, n): (usize, usize, usize),
        ta: bool,
        tb: bool,
    ) -> Vec<f64> {
        let at = |i: usize, l: usize| if ta { a[l * m + i] } else { a[i * k + l] };
        let bt = |l: usize, j: usize| if tb { b[j * k + l] } else { b[l * n + j] };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| at(i, l) * bt(l, j)).sum();
            }
        }
        c
    }

    fn values(len: usize, salt: usize) -> Vec<f64> {
        (0..len)
            .map(|i| (((i * 7919 + salt * 104_729) % 1000) as f64 - 500.0) / 250.0)
            .collect()
    }

    #[test]
    fn matches_the_naive_product_for_every_transpose_and_awkward_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 0, 2),
            (0, 4, 3),
            (5, 7, 3),
            (33, 17, 2),
            (2, 65, 31),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let (a, b) = (values(m * k, 1), values(k * n, 2));
                let mut c = vec![f64::NAN; m * n];
                gemm(&mut c, &a, &b, (m, k, n), ta, tb, false);
                let want = naive(&a, &b, (m, k, n), ta, tb);
                for (x, y) in c.iter().zip(&want) {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                        "{m}x{k}x{n} {ta} {tb}: {x} vs {y}"
                    );
                }
                let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let mut c32 = vec![f32::NAN; m * n];
                gemm(&mut c32, &a32, &b32, (m, k, n), ta, tb, false);
                for (x, y) in c32.iter().zip(&want) {
                    let tol = 1e-5 * (1.0 + y.abs()) * (k as f64).sqrt().max(1.0);
                    assert!(
                        (f64::from(*x) - y).abs() <= tol,
                        "f32 {m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn accumulate_adds_the_product_to_the_destination() {
        let (m, k, n) = (4, 3, 5);
        let (a, b) = (values(m * k, 5), values(k * n, 6));
        let mut c: Vec<f64> = (0..m * n).map(|i| i as f64).collect();
        gemm(&mut c, &a, &b, (m, k, n), false, false, true);
        let want = naive(&a, &b, (m, k, n), false, false);
        for (i, (x, y)) in c.iter().zip(&want).enumerate() {
            assert!((x - (y + i as f64)).abs() < 1e-12);
        }
    }

    /// Same inputs, same bits, whatever the thread count: the parts partition the output,
    /// never the inner dimension, and their number comes from the shape, so every entry sums
    /// its products in the same order. Also the same bits as the uncut product.
    #[test]
    fn products_are_bit_identical_for_any_thread_count() {
        for (m, k, n) in [(256, 192, 160), (389, 67, 101)] {
            let (a, b) = (values(m * k, 3), values(k * n, 4));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut whole = vec![0.0; m * n];
                gemm_with(&mut whole, &a, &b, (m, k, n), ta, tb, Accum::Replace, 0..m);
                for parts in [2, 3] {
                    for threads in [1, 2, 3] {
                        let mut cut = vec![0.0; m * n];
                        gemm_parts(
                            &mut cut,
                            &a,
                            &b,
                            (m, k, n),
                            ta,
                            tb,
                            Accum::Replace,
                            parts,
                            threads,
                        );
                        assert!(
                            whole
                                .iter()
                                .zip(&cut)
                                .all(|(x, y)| x.to_bits() == y.to_bits()),
                            "{m}x{k}x{n} ta={ta} tb={tb}: {parts} parts on {threads} threads"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn parts_depend_on_the_shape_only() {
        assert_eq!(parts_for(512, 2 * 512 * 8 * 256), 1, "below the threshold");
        assert_eq!(parts_for(512, 2 * 512 * 256 * 256), 4, "128-row parts");
        assert_eq!(parts_for(100, 1 << 30), 1, "too few rows to cut");
        assert_eq!(parts_for(1 << 14, 1 << 40), MAX_PARTS);
    }
}
