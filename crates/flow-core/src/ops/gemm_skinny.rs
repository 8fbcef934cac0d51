//! Skinny f32 products: `C = op_a(A) op_b(B)` with 2 to [`MAX_COLS`] output columns.
//!
//! Every MLP ends in one (`[rows, 256]·[256, 8]`, and its input gradient `ȳ W₁` in the
//! backward pass), and a weight gradient of an 8-wide output layer is one too (`hᵀ ȳ`). faer
//! computes a row-major product with few columns as its transpose, eight rows wide, in
//! sixteen-row kernels half masked off: 56–58 GFLOP/s on the free-form step's shapes
//! (one Zen 4 core), where its square products reach ~112. Here each output row is one 8-lane
//! register and [`ROWS_AVX512`] rows of `C` are accumulated at once (one broadcast of `A`, one
//! fused multiply–add per row and `k`, `B` packed `k × 8`): 88–99 GFLOP/s on the same shapes
//! alone, and in the steps (where `A` comes from L2/L3) the products' share of a one-thread
//! HVP fell from 5.2 % to 3.3 % of the samples (BENCHMARKS.md, session 15).
//!
//! **Order of operations.** Each output element is summed from zero over `k` in order, one
//! fused multiply–add per term, in blocks of [`KC`] terms: the first block's sum is stored (or
//! added to the destination when accumulating), each later block's sum is added to it. This is
//! the order faer's kernels use on the project machine (blocks of 512 along `k`), so swapping
//! it in left every result bit-identical (the ignored test `matches_faer_bit_for_bit` re-checks
//! that after a faer upgrade); on any machine it is fixed by the shape alone, so results do not
//! depend on the thread count or on how the rows are cut.

#![allow(unsafe_code)]

use std::borrow::Cow;
use std::ops::Range;

use super::gemm::Dst;

/// The most output columns the kernel takes (one AVX register of f32 per output row).
pub(crate) const MAX_COLS: usize = 8;

/// The fewest: one column is a matrix–vector product, which faer sums in another order
/// (several partial sums per dot product) and runs fast enough; left to it so results stay
/// the bits they were.
const MIN_COLS: usize = 2;

/// The fewest rows the kernel takes. Below 32, faer's small-matrix paths sum some shapes in
/// another order (e.g. `16×100·100×2` with `B` transposed), and are as fast (a product of a
/// few rows is latency-bound on one chain per row): left to faer, so results stay the bits
/// they were.
const MIN_ROWS: usize = 32;

/// Terms of `k` summed per block before the block's sum is added to the output.
pub(crate) const KC: usize = 512;

/// Rows of `C` accumulated at once with AVX-512VL (32 vector registers) and with AVX2 (16).
const ROWS_AVX512: usize = 16;
const ROWS_AVX2: usize = 12;

/// Writes rows `rows` of `op_a(A) op_b(B)` (`A` stored `[m, k]`, or `[k, m]` when `ta`; `B`
/// stored `[k, n]`, or `[n, k]` when `tb`) into `dst` (`rows.len() × n`, row-major), when the
/// kernel applies: f32, `2 ≤ n ≤ MAX_COLS`, `k ≥ 2` (faer fuses a one-term sum into an
/// accumulated output, `C + a b` in one rounding, and is left those), at least [`MIN_ROWS`]
/// rows, and a CPU with AVX2 and FMA. Returns whether it did; `false` leaves `dst` untouched.
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
    product_at(simd_level(), dst, a, b, shape, transposes, rows)
}

/// [`product`] with the instruction set chosen by the caller (`level` must be one the CPU
/// has; the tests run both).
fn product_at(
    level: Option<Level>,
    dst: &mut Dst<'_, f32>,
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    rows: Range<usize>,
) -> bool {
    let (ptr, len, add) = dst.raw_parts();
    assert!(
        len == rows.len() * n && rows.end <= m && a.len() == m * k && b.len() == k * n,
        "gemm_skinny: destination of {len} values for rows {rows:?} of {m}×{k}·{k}×{n}"
    );
    let Some(level) = level else { return false };
    if !(MIN_COLS..=MAX_COLS).contains(&n) || k < 2 || rows.len() < MIN_ROWS {
        return false;
    }
    let bp = pack_b(b, k, n, tb);
    let shape = Shape { m, k, n, ta };
    // SAFETY: `ptr` addresses `rows.len() · n` writable f32 (checked above; an `Add`
    // destination is initialised, the only case that reads it); `a` holds `m · k` values and
    // every index the kernel forms is `< m · k` for a row in `rows ⊆ 0..m`; `bp` holds `k · 8`;
    // the CPU has the features of the function called (the caller's contract on `level`).
    unsafe {
        match level {
            Level::Avx512 => run_avx512(ptr, add, a, &bp, shape, rows),
            Level::Avx2 => run_avx2(ptr, add, a, &bp, shape, rows),
        }
    }
    true
}

#[derive(Clone, Copy)]
enum Level {
    Avx512,
    Avx2,
}

fn simd_level() -> Option<Level> {
    #[cfg(target_arch = "x86_64")]
    {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            return None;
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") {
            return Some(Level::Avx512);
        }
        Some(Level::Avx2)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// `op_b(B)` as `k` rows of 8 (columns past `n` zero): the layout the kernel loads one
/// register from per `k`. Borrowed when `B` already is that (`[k, 8]`, not transposed).
fn pack_b(b: &[f32], k: usize, n: usize, tb: bool) -> Cow<'_, [f32]> {
    if !tb && n == MAX_COLS {
        return Cow::Borrowed(b);
    }
    let mut bp = vec![0.0; k * MAX_COLS];
    for (l, row) in bp.chunks_exact_mut(MAX_COLS).enumerate() {
        for (j, v) in row[..n].iter_mut().enumerate() {
            *v = if tb { b[j * k + l] } else { b[l * n + j] };
        }
    }
    Cow::Owned(bp)
}

#[derive(Clone, Copy)]
struct Shape {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
unsafe fn run_avx512(c: *mut f32, add: bool, a: &[f32], bp: &[f32], s: Shape, rows: Range<usize>) {
    // SAFETY: forwarded from `product`.
    unsafe { run::<ROWS_AVX512>(c, add, a, bp, s, rows) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(c: *mut f32, add: bool, a: &[f32], bp: &[f32], s: Shape, rows: Range<usize>) {
    // SAFETY: forwarded from `product`.
    unsafe { run::<ROWS_AVX2>(c, add, a, bp, s, rows) }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn run_avx512(_: *mut f32, _: bool, _: &[f32], _: &[f32], _: Shape, _: Range<usize>) {}
#[cfg(not(target_arch = "x86_64"))]
unsafe fn run_avx2(_: *mut f32, _: bool, _: &[f32], _: &[f32], _: Shape, _: Range<usize>) {}

/// The kernel: rows of `C` in groups of `R`, `k` in blocks of [`KC`] (module docs).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn run<const R: usize>(
    c: *mut f32,
    add: bool,
    a: &[f32],
    bp: &[f32],
    s: Shape,
    rows: Range<usize>,
) {
    use std::arch::x86_64::*;
    // Stride between rows of `A` and between its `k` terms.
    let (row_step, k_step) = if s.ta { (1, s.m) } else { (s.k, 1) };
    let lanes: [i32; 8] = std::array::from_fn(|j| if j < s.n { -1 } else { 0 });
    // SAFETY (whole body): the caller's contract of `product`; loads of `A` stay below
    // `m · k`, of `bp` below `k · 8`, stores of `C` below `rows.len() · n` (masked to `n`
    // lanes when `n < 8`).
    unsafe {
        let mask = _mm256_loadu_si256(lanes.as_ptr().cast());
        let (ap, bq) = (a.as_ptr(), bp.as_ptr());
        let mut i = rows.start;
        while i < rows.end {
            let group = R.min(rows.end - i);
            let mut k0 = 0;
            while k0 < s.k {
                let k1 = (k0 + KC).min(s.k);
                let mut acc = [_mm256_setzero_ps(); R];
                let a_row = ap.add(i * row_step + k0 * k_step);
                if group == R {
                    let (bk, len) = (bq.add(k0 * MAX_COLS), k1 - k0);
                    if s.ta {
                        full_group::<R, true>(&mut acc, a_row, bk, len, s.m);
                    } else {
                        full_group::<R, false>(&mut acc, a_row, bk, len, s.k);
                    }
                } else {
                    for l in 0..k1 - k0 {
                        let bl = _mm256_loadu_ps(bq.add((k0 + l) * MAX_COLS));
                        for (r, acc) in acc.iter_mut().enumerate().take(group) {
                            let ai = _mm256_broadcast_ss(&*a_row.add(l * k_step + r * row_step));
                            *acc = _mm256_fmadd_ps(ai, bl, *acc);
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(group) {
                    let out = c.add((i - rows.start + r) * s.n);
                    let first = k0 == 0 && !add;
                    if s.n == MAX_COLS {
                        let v = if first {
                            *acc
                        } else {
                            _mm256_add_ps(_mm256_loadu_ps(out), *acc)
                        };
                        _mm256_storeu_ps(out, v);
                    } else {
                        let v = if first {
                            *acc
                        } else {
                            _mm256_add_ps(_mm256_maskload_ps(out, mask), *acc)
                        };
                        _mm256_maskstore_ps(out, mask, v);
                    }
                }
                k0 = k1;
            }
            i += group;
        }
    }
}

/// Steps of `k` per pass over the rows of a row-major `A` in [`full_group`].
const UNROLL: usize = 4;

/// `acc[r] += Σ_l A[r, l] · B[l]` for the `R` rows of a full group over `len` terms of `k`,
/// `l` in order for every row. `A` is transposed (`TA`: the group's `R` values of one `l` are
/// contiguous, `stride` apart from one `l` to the next) or row-major (each row's terms
/// contiguous, rows `stride` apart).
///
/// Row-major `A` takes [`UNROLL`] steps of `k` per pass over the rows, each row's terms
/// addressed from one pointer: one step per pass left LLVM computing the sixteen row
/// addresses as a serial chain of additions every step, which held the loop near one
/// multiply–add per cycle instead of two (`perf annotate`, session 15).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn full_group<const R: usize, const TA: bool>(
    acc: &mut [std::arch::x86_64::__m256; R],
    a_row: *const f32,
    bq: *const f32,
    len: usize,
    stride: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: every address read is row `r < R` of the group at term `l < len`, inside `A`,
    // and `bq` holds `len` rows of 8; prefetches may point past `A` (no access is made).
    unsafe {
        let b_at = |l: usize| _mm256_loadu_ps(bq.add(l * MAX_COLS));
        if TA {
            for l in 0..len {
                let (bl, a_l) = (b_at(l), a_row.add(l * stride));
                for (r, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&*a_l.add(r)), bl, *acc);
                }
            }
            return;
        }
        // The group's rows are one contiguous block: fetch the next group's block (a line
        // per step) while this one is summed.
        let next = a_row.wrapping_add(R * stride);
        let prefetch = R * stride <= len * 16;
        let mut l = 0;
        while l + UNROLL <= len {
            let bs: [__m256; UNROLL] = std::array::from_fn(|u| b_at(l + u));
            if prefetch {
                for u in 0..UNROLL {
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add((l + u) * 16).cast());
                }
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let p = a_row.add(r * stride + l);
                for (u, bu) in bs.iter().enumerate() {
                    *acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&*p.add(u)), *bu, *acc);
                }
            }
            l += UNROLL;
        }
        for l in l..len {
            let bl = b_at(l);
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = _mm256_broadcast_ss(&*a_row.add(r * stride + l));
                *acc = _mm256_fmadd_ps(a, bl, *acc);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[cfg(test)]
#[path = "gemm_skinny_tests.rs"]
pub(super) mod tests;
