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

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use faer::traits::ComplexField;
use faer::{Accum, MatMut, MatRef, Par};

/// Products below this many FLOPs (`2·m·k·n`) are never cut into parts: about 10 µs of
/// work on one core, ten times the team's hand-off. Lowered from 2²² so that the skinny
/// products of a step (`[512,8]·[8,256]`, 2 MFLOP) also use the second core: the MLP step at
/// two threads took 0.969× the time (median of 12 alternated rounds, BENCHMARKS.md).
pub const PARALLEL_FLOPS: usize = 1 << 20;

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
    let dst = MatMut::from_row_major_slice_mut(c, rows.len(), n);
    product_into(dst, a, b, (m, k, n), ta, tb, accum, rows);
}

/// `dst (=|+=) op_a(A)[rows] op_b(B)` through faer, on one thread.
#[allow(clippy::too_many_arguments)]
fn product_into<T: Gemm>(
    dst: MatMut<'_, T>,
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
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::one_impl(), Par::Seq);
}

/// Writes `op_a(A)[rows] op_b(B)` into the uninitialised row block `block` (`rows.len() × n`,
/// row-major) without zeroing it first: faer's `Accum::Replace` documents that the
/// destination's previous values are not read, so the block is handed over as a raw-pointer
/// view (no reference to uninitialised `T` is made here) and is fully written on return.
/// Saves a memset of every fresh product (2–3 % of the free-form step on one core).
#[allow(clippy::too_many_arguments)]
fn product_into_uninit<T: Gemm>(
    block: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    rows: std::ops::Range<usize>,
) {
    assert!(
        k > 0 && block.len() == rows.len() * n,
        "gemm: uninitialised block shape"
    );
    // SAFETY: `block` is valid for reads and writes of `rows.len() · n` elements for the
    // view's lifetime (borrowed mutably here), the strides describe a row-major matrix inside
    // it with no two elements aliased, and with `Accum::Replace` and `k > 0` faer writes every
    // element of the destination without reading it (its documented contract for `Replace`).
    let dst = unsafe {
        MatMut::from_raw_parts_mut(block.as_mut_ptr().cast::<T>(), rows.len(), n, n as isize, 1)
    };
    product_into(dst, a, b, (m, k, n), ta, tb, Accum::Replace, rows);
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

/// How the output of [`gemm_new`] starts before the product is added to it.
pub(crate) enum Init<'a, T> {
    /// `C = op_a(A) op_b(B)`.
    Zero,
    /// `C = 1 rowᵀ + op_a(A) op_b(B)`: every output row starts as `row` (a fused bias).
    Rows(&'a [T]),
}

/// A new `[m, n]` row-major product `op_a(A) op_b(B)` started from `init`, with the same
/// shape rules, parts and bit-exact results as [`gemm`]. Each part initialises its own rows
/// right before multiplying into them, so the bias copy of the output runs in parallel and
/// leaves the block in cache, instead of being a serial row copy of the whole output before
/// the product (2–3 % of an MLP step on one thread, all of it on the critical path at two);
/// a product from [`Init::Zero`] is written straight into the uninitialised block
/// ([`product_into_uninit`]), with no zeroing at all.
///
/// # Panics
/// If a slice length does not match its stated shape, or a bias row is not `n` long.
pub(crate) fn gemm_new<T: Gemm>(
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    init: Init<'_, T>,
) -> Vec<T> {
    assert!(
        a.len() == m * k && b.len() == k * n,
        "gemm: A holds {} and B {} values, not {m}×{k} and {k}×{n}",
        a.len(),
        b.len()
    );
    if let Init::Rows(row) = &init {
        assert_eq!(
            row.len(),
            n,
            "gemm: bias row of {} values, not {n}",
            row.len()
        );
    }
    let mut out: Vec<T> = Vec::with_capacity(m * n);
    if m == 0 || n == 0 {
        return out;
    }
    let parts = parts_for(m, 2 * m * k * n);
    let rows_per_part = m.div_ceil(parts);
    let blocks: Vec<(usize, &mut [MaybeUninit<T>])> = out.spare_capacity_mut()[..m * n]
        .chunks_mut(rows_per_part * n)
        .enumerate()
        .map(|(p, block)| (p * rows_per_part, block))
        .collect();
    let threads = if parts > 1 {
        crate::parallel::gemm_threads()
    } else {
        1
    };
    crate::parallel::team::run_parts(blocks, threads, |(start, block)| {
        let rows = start..start + block.len() / n;
        match &init {
            Init::Zero if k > 0 => {
                product_into_uninit(block, a, b, (m, k, n), ta, tb, rows);
                return;
            }
            Init::Zero => block.iter_mut().for_each(|x| {
                x.write(T::zero_impl());
            }),
            Init::Rows(row) => {
                for dst in block.chunks_mut(n) {
                    dst.iter_mut().zip(row.iter()).for_each(|(x, &v)| {
                        x.write(v);
                    });
                }
            }
        }
        // SAFETY: every element of `block` was written just above, and `MaybeUninit<T>` has
        // the layout of `T`.
        let block = unsafe { &mut *(block as *mut [MaybeUninit<T>] as *mut [T]) };
        if k > 0 {
            gemm_with(block, a, b, (m, k, n), ta, tb, Accum::Add, rows);
        }
    });
    // SAFETY: the blocks cover `0..m·n` and each was fully written; a panic unwinds before
    // this line and leaves `out` empty.
    unsafe { out.set_len(m * n) };
    out
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

    /// `gemm_new` (parallel in-part initialisation) gives the bits of the in-place `gemm`
    /// over a zeroed or bias-filled output, for every transpose, cut and degenerate shape.
    #[test]
    fn new_products_match_the_in_place_product_bit_for_bit() {
        for (m, k, n) in [
            (256, 192, 160),
            (389, 67, 101),
            (5, 0, 3),
            (0, 4, 3),
            (7, 3, 1),
        ] {
            let (a, b) = (values(m * k, 7), values(k * n, 8));
            let bias = values(n, 9);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut zero = vec![0.0; m * n];
                gemm(&mut zero, &a, &b, (m, k, n), ta, tb, false);
                let got = gemm_new(&a, &b, (m, k, n), ta, tb, Init::Zero);
                assert_eq!(got.len(), m * n);
                assert!(
                    zero.iter()
                        .zip(&got)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                );
                let mut biased: Vec<f64> = (0..m * n).map(|i| bias[i % n.max(1)]).collect();
                gemm(&mut biased, &a, &b, (m, k, n), ta, tb, true);
                let got = gemm_new(&a, &b, (m, k, n), ta, tb, Init::Rows(&bias));
                assert!(
                    biased
                        .iter()
                        .zip(&got)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{m}x{k}x{n} ta={ta} tb={tb}"
                );
            }
        }
    }

    /// `product_into_uninit` relies on faer not reading the destination under
    /// `Accum::Replace`: a block poisoned with NaN (any read of it would leak NaN into the
    /// result, `0 · NaN = NaN`) must come back equal to the naive product, for every
    /// transpose and for the shapes that take faer's small-matrix, matrix-vector and
    /// skinny paths, in f64 and f32.
    #[test]
    fn uninitialised_products_never_read_the_destination() {
        fn poisoned<T: Gemm>(
            a: &[T],
            b: &[T],
            (m, k, n): (usize, usize, usize),
            ta: bool,
            tb: bool,
            nan: T,
        ) -> Vec<T> {
            let mut block = vec![MaybeUninit::new(nan); m * n];
            product_into_uninit(&mut block, a, b, (m, k, n), ta, tb, 0..m);
            block
                .into_iter()
                .map(|x| unsafe { x.assume_init() })
                .collect()
        }
        for (m, k, n) in [
            (1, 1, 1),
            (1, 7, 1),
            (1, 9, 33),
            (17, 9, 1),
            (4, 4, 4),
            (33, 17, 2),
            (128, 8, 256),
            (8, 512, 256),
            (130, 70, 45),
        ] {
            let (a, b) = (values(m * k, 3), values(k * n, 4));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let want = naive(&a, &b, (m, k, n), ta, tb);
                let got = poisoned(&a, &b, (m, k, n), ta, tb, f64::NAN);
                let close = |x: f64, y: f64, tol: f64| (x - y).abs() <= tol * (1.0 + y.abs());
                assert!(
                    got.iter().zip(&want).all(|(&x, &y)| close(x, y, 1e-12)),
                    "f64 {m}x{k}x{n} ta={ta} tb={tb}"
                );
                let (a32, b32): (Vec<f32>, Vec<f32>) = (
                    a.iter().map(|&v| v as f32).collect(),
                    b.iter().map(|&v| v as f32).collect(),
                );
                let got = poisoned(&a32, &b32, (m, k, n), ta, tb, f32::NAN);
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(&x, &y)| close(f64::from(x), y, 1e-4)),
                    "f32 {m}x{k}x{n} ta={ta} tb={tb}"
                );
            }
        }
    }

    #[test]
    fn parts_depend_on_the_shape_only() {
        assert_eq!(
            parts_for(512, 2 * 512 * 8 * 256),
            4,
            "skinny, 128-row parts"
        );
        assert_eq!(parts_for(512, 2 * 512 * 2 * 256), 1, "below the threshold");
        assert_eq!(parts_for(512, 2 * 512 * 256 * 256), 4, "128-row parts");
        assert_eq!(parts_for(100, 1 << 30), 1, "too few rows to cut");
        assert_eq!(parts_for(1 << 14, 1 << 40), MAX_PARTS);
    }
}
