//! Shallow f32 products: `C = op_a(A) op_b(B)` with 2 to [`MAX_TERMS`] terms per output
//! element and at least [`MIN_COLS`] output columns.
//!
//! Every MLP on a few features starts with one (`[rows, 8]·[8, 256]` plus the bias in the
//! reference MLP; `[512, 4]·[4, 64]` in an 8-D coupling subnet), and every layer with a few
//! outputs has one in its backward pass (the input gradient `ȳ W`, `[rows, 8]·[8, 256]`).
//! faer treats them as any product: it packs, runs its 96 × 4 kernels through eight or fewer
//! terms and reads the destination back, and the bias is first copied into every output row
//! (`gemm_new`). Measured inside the sharded MLP step (one thread, 256 rows; session 24):
//! 22.7 µs for the first layer with its bias (46 GFLOP/s) and 13.4 µs for the input gradient
//! (79 GFLOP/s), where the square products run at ~160. Here a tile of 4 rows × 64 columns is
//! summed in 16 registers straight from `B`'s rows (one load of `B` per term and 16 columns,
//! one broadcast of `A` per term and row), the bias row is added in registers, and each
//! output value is stored once.
//!
//! **Order of operations.** The one of [`gemm_skinny`](super::gemm_skinny) and
//! [`gemm_outer`](super::gemm_outer): each output element summed from zero over `k` in order,
//! one fused multiply–add per term (one block: `k ≤ MAX_TERMS < KC`), then stored, or added to
//! the destination when accumulating, or added to the bias value when the block starts from a
//! bias row. That is faer's order on the project machines, and `gemm_new` added the product
//! to the copied bias the same way, so results are the bits they were (tested against the
//! scalar loop of that order; against faer in an ignored test, as for the other kernels).
//! AVX-512F only: elsewhere faer runs these products, in the same order.

#![allow(unsafe_code)]

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::ops::Range;

use super::gemm::Dst;

/// The most terms per output element.
pub(crate) const MAX_TERMS: usize = 16;

/// The fewest terms: with one, faer fuses an accumulated product into `C + a b` (one
/// rounding), a different order; left to it, as in the other kernels.
const MIN_TERMS: usize = 2;

/// The fewest output columns (one vector).
pub(crate) const MIN_COLS: usize = 16;

/// The fewest rows of `C` in a block (faer's small-matrix paths below this are left alone,
/// as in the other kernels).
const MIN_ROWS: usize = 32;

/// f32 lanes of one AVX-512 register.
const LANES: usize = 16;

/// Rows and vectors of columns of `C` summed at once (16 accumulators of the 32 registers).
const TILE_ROWS: usize = 4;
const TILE_VECS: usize = 4;

/// How each output value starts.
#[derive(Clone, Copy)]
enum Start {
    /// From the product alone (fresh or overwritten memory).
    Zero,
    /// Added to the destination's value.
    Add,
    /// Added to the bias row's value for its column (`n` values).
    Row(*const f32),
}

/// Whether the kernel takes rows `rows` of an `m×k·k×n` product on this CPU.
fn applies((_, k, n): (usize, usize, usize), rows: &Range<usize>) -> bool {
    (MIN_TERMS..=MAX_TERMS).contains(&k) && n >= MIN_COLS && rows.len() >= MIN_ROWS && has_avx512()
}

/// Writes rows `rows` of `op_a(A) op_b(B)` (`A` stored `[m, k]`, or `[k, m]` when `ta`; `B`
/// stored `[k, n]`, or `[n, k]` when `tb`) into `dst` (`rows.len() × n`, row-major) when the
/// kernel applies: `2 ≤ k ≤ 16`, `n ≥ 16`, at least 32 rows, and a CPU with AVX-512F.
/// Returns whether it did; `false` leaves `dst` untouched.
///
/// # Panics
/// If `dst` does not hold `rows.len() · n` values or `rows` runs past `m`.
pub(crate) fn product(
    dst: &mut Dst<'_, f32>,
    a: &[f32],
    b: &[f32],
    shape: (usize, usize, usize),
    transposes: (bool, bool),
    rows: Range<usize>,
) -> bool {
    let (ptr, len, add) = dst.raw_parts();
    check(len, a, b, shape, &rows);
    if !applies(shape, &rows) {
        return false;
    }
    let start = if add { Start::Add } else { Start::Zero };
    // SAFETY: `ptr` addresses `rows.len() · n` writable f32 (checked), of which only an `Add`
    // destination (initialised) is read; the CPU has AVX-512F (`applies`).
    unsafe { run_avx512(ptr, start, a, b, shape, transposes, rows) };
    true
}

/// [`product`] into fresh memory with every output row started from `row` (`C = 1 rowᵀ +
/// op_a(A) op_b(B)`, a fused bias): the bias is added in registers instead of being copied
/// into the block first. Returns whether the kernel applied; `false` leaves `block` untouched.
///
/// # Panics
/// As [`product`], and if `row` is not `n` long.
pub(crate) fn product_from_row(
    block: &mut [MaybeUninit<f32>],
    row: &[f32],
    a: &[f32],
    b: &[f32],
    shape: (usize, usize, usize),
    transposes: (bool, bool),
    rows: Range<usize>,
) -> bool {
    check(block.len(), a, b, shape, &rows);
    assert_eq!(
        row.len(),
        shape.2,
        "gemm_shallow: bias row of {} values",
        row.len()
    );
    if !applies(shape, &rows) {
        return false;
    }
    let ptr = block.as_mut_ptr().cast::<f32>();
    // SAFETY: `block` holds `rows.len() · n` f32 slots, written and never read; `row` holds
    // `n` values; the CPU has AVX-512F (`applies`).
    unsafe { run_avx512(ptr, Start::Row(row.as_ptr()), a, b, shape, transposes, rows) };
    true
}

fn check(len: usize, a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), rows: &Range<usize>) {
    assert!(
        len == rows.len() * n && rows.end <= m && a.len() == m * k && b.len() == k * n,
        "gemm_shallow: destination of {len} values for rows {rows:?} of {m}×{k}·{k}×{n}"
    );
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `op_b(B)` as `k` rows of `n`: borrowed when `B` is stored so, transposed otherwise
/// (`k · n ≤ 16 n` values).
fn rows_of_b(b: &[f32], k: usize, n: usize, tb: bool) -> Cow<'_, [f32]> {
    if !tb {
        return Cow::Borrowed(b);
    }
    let mut out = vec![0.0; k * n];
    for (l, row) in out.chunks_exact_mut(n).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = b[j * k + l];
        }
    }
    Cow::Owned(out)
}

/// The operands of one call: `A` with its strides, `B` as `k` rows of `n`.
struct Operands<'a> {
    a: &'a [f32],
    /// Distance in `A` between rows of `op_a(A)` and between its terms.
    row_step: usize,
    term_step: usize,
    b: &'a [f32],
    k: usize,
    n: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(
    c: *mut f32,
    start: Start,
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    rows: Range<usize>,
) {
    let bk = rows_of_b(b, k, n, tb);
    let (row_step, term_step) = if ta { (1, m) } else { (k, 1) };
    let p = Operands {
        a,
        row_step,
        term_step,
        b: &bk,
        k,
        n,
    };
    let mut i = rows.start;
    while i < rows.end {
        let out_row = i - rows.start;
        let mut j = 0;
        while j < n {
            let vecs = (n - j).div_ceil(LANES).min(TILE_VECS);
            // SAFETY (every arm): the caller's contract; the tile's rows `i..i+R ⊆ rows` and
            // columns `j..min(j + 16·V, n)` are inside `A`, `B`, the bias row and `C`.
            unsafe {
                match (rows.end - i).min(TILE_ROWS) {
                    4 => tile_vecs::<4>(vecs, c, start, &p, (i, out_row, j)),
                    3 => tile_vecs::<3>(vecs, c, start, &p, (i, out_row, j)),
                    2 => tile_vecs::<2>(vecs, c, start, &p, (i, out_row, j)),
                    _ => tile_vecs::<1>(vecs, c, start, &p, (i, out_row, j)),
                }
            }
            j += vecs * LANES;
        }
        i += TILE_ROWS;
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn run_avx512(
    _: *mut f32,
    _: Start,
    _: &[f32],
    _: &[f32],
    _: (usize, usize, usize),
    _: (bool, bool),
    _: Range<usize>,
) {
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile_vecs<const R: usize>(
    vecs: usize,
    c: *mut f32,
    start: Start,
    p: &Operands<'_>,
    at: (usize, usize, usize),
) {
    // SAFETY: forwarded; `vecs` is the tile's vector count.
    unsafe {
        match vecs {
            4 => tile::<R, 4>(c, start, p, at),
            3 => tile::<R, 3>(c, start, p, at),
            2 => tile::<R, 2>(c, start, p, at),
            _ => tile::<R, 1>(c, start, p, at),
        }
    }
}

/// One tile: rows `i..i+R` of `op_a(A)`, columns `j..j+16V` of `C` (the last vector masked
/// to `n`), written at row `out_row` of the block.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile<const R: usize, const V: usize>(
    c: *mut f32,
    start: Start,
    p: &Operands<'_>,
    (i, out_row, j): (usize, usize, usize),
) {
    use std::arch::x86_64::*;
    let masks: [__mmask16; V] = std::array::from_fn(|v| {
        let valid = p.n.saturating_sub(j + v * LANES).min(LANES);
        ((1u32 << valid) - 1) as __mmask16
    });
    // SAFETY (whole body): loads of `B` and the bias row and every access to `C` are masked
    // to columns `< n`; `A` is read at rows `i..i+R` and terms `< k`, inside it.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let (ap, bp) = (p.a.as_ptr(), p.b.as_ptr());
        for l in 0..p.k {
            let b_l = bp.add(l * p.n + j);
            let bv: [__m512; V] =
                std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], b_l.add(v * LANES)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let ar = _mm512_set1_ps(*ap.add((i + r) * p.row_step + l * p.term_step));
                for (acc_rv, bvv) in acc_r.iter_mut().zip(&bv) {
                    *acc_rv = _mm512_fmadd_ps(ar, *bvv, *acc_rv);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            let out = c.add((out_row + r) * p.n + j);
            for (v, acc_rv) in acc_r.iter().enumerate() {
                let (o, mask) = (out.add(v * LANES), masks[v]);
                let value = match start {
                    Start::Zero => *acc_rv,
                    Start::Add => _mm512_add_ps(_mm512_maskz_loadu_ps(mask, o), *acc_rv),
                    Start::Row(row) => {
                        let bias = _mm512_maskz_loadu_ps(mask, row.add(j + v * LANES));
                        _mm512_add_ps(bias, *acc_rv)
                    }
                };
                _mm512_mask_storeu_ps(o, mask, value);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[cfg(test)]
#[path = "gemm_shallow_tests.rs"]
mod tests;
