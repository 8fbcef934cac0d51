//! The one GEMM of the workspace: `C = op_a(A) op_b(B)` on row-major slices, f32 and f64.
//!
//! Backed by faer's matrix product (pure Rust, run-time CPU dispatch with AVX2/AVX-512
//! kernels and small-matrix kernels). It replaced ndarray's matrixmultiply backend after a
//! side-by-side measurement on the workspace's shapes (BENCHMARKS.md, "GEMM backend"): faer
//! was faster on every shape of the MLP, coupling and free-form steps, most on the skinny
//! products of coupling subnets (`[512,256]·[256,8]` about 2.5×) where matrixmultiply has no
//! specialised kernel.
//!
//! Transposes are views (swapped strides), never copies. Products with at least
//! [`PARALLEL_FLOPS`] floating-point operations run on
//! [`parallel::gemm_threads`](crate::parallel::gemm_threads) threads of the workspace's pool
//! (the one thread setting); smaller ones stay on the calling thread, where a fork/join would
//! cost more than it saves. Inside a chunk of a parallel helper `gemm_threads` is 1, so nested
//! parallelism never oversubscribes the machine.

use faer::traits::ComplexField;
use faer::{Accum, MatMut, MatRef, Par};

/// Products below this many FLOPs (`2·m·k·n`) run single-threaded: about 25 µs of work on one
/// core, the point where a rayon fork/join stops being measurable overhead.
pub const PARALLEL_FLOPS: usize = 1 << 22;

/// Element types the GEMM supports (f32 and f64).
pub(crate) trait Gemm: ComplexField + Copy {}
impl Gemm for f32 {}
impl Gemm for f64 {}

fn view<T: Gemm>(s: &[T], rows: usize, cols: usize, transpose: bool) -> MatRef<'_, T> {
    let m = MatRef::from_row_major_slice(s, rows, cols);
    if transpose { m.transpose() } else { m }
}

/// The threads for a product of `flops` floating-point operations (1 = the calling thread).
fn threads_for(flops: usize) -> usize {
    if flops < PARALLEL_FLOPS {
        1
    } else {
        crate::parallel::gemm_threads()
    }
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
    par: Par,
) {
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let lhs = view(a, ar, ac, ta);
    let rhs = view(b, br, bc, tb);
    let dst = MatMut::from_row_major_slice_mut(c, m, n);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::one_impl(), par);
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
    match threads_for(2 * m * k * n) {
        1 => gemm_with(c, a, b, (m, k, n), ta, tb, accum, Par::Seq),
        n_threads => crate::parallel::with_threads(n_threads, || {
            gemm_with(c, a, b, (m, k, n), ta, tb, accum, Par::rayon(n_threads))
        }),
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

    /// Same inputs, same bits, whatever the thread count: the parallel split partitions the
    /// output, never the inner dimension, so every entry sums its products in the same order.
    #[test]
    fn parallel_and_sequential_products_are_bit_identical() {
        let (m, k, n) = (256, 192, 160);
        assert!(2 * m * k * n >= PARALLEL_FLOPS);
        let (a, b) = (values(m * k, 3), values(k * n, 4));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        for (ta, tb) in [(false, false), (true, true)] {
            let mut seq = vec![0.0; m * n];
            gemm_with(
                &mut seq,
                &a,
                &b,
                (m, k, n),
                ta,
                tb,
                Accum::Replace,
                Par::Seq,
            );
            let mut par = vec![0.0; m * n];
            pool.install(|| {
                gemm_with(
                    &mut par,
                    &a,
                    &b,
                    (m, k, n),
                    ta,
                    tb,
                    Accum::Replace,
                    Par::rayon(2),
                )
            });
            assert!(
                seq.iter()
                    .zip(&par)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            );
        }
    }
}
