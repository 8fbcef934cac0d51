//! Weight gradients of narrow inputs as sums of outer products: `C = Aᵀ B` for f32 operands
//! that are both stored `k`-major (`A` as `[k, m]`, `B` as `[k, n]`, the batch being `k`),
//! with 2 to [`MAX_COLS`] output columns.
//!
//! The first layer of every MLP on a few features has one: its weight gradient `ȳᵀ x`
//! (`[256, 512]·[512, 8]` in the reference MLP; `[64, 512]·[512, 4]` in an 8-D coupling
//! subnet). [`gemm_skinny`](super::gemm_skinny) ran it at 63 GFLOP/s and faer at 40, where
//! the step's square products reach ~165 (one core, Intel Xeon, AVX-512; session 22). Both
//! broadcast `A` one value at a time, because they hold a row of `C` per register. Here `C`
//! is the sum over `l` of `A[l, :]ᵀ ⊗ B[l, :]`, kept transposed: a run of `C`'s rows is
//! loaded as vectors from one contiguous row of `A`, each of `B`'s ≤ 8 values of that row is
//! broadcast once, and one fused multiply–add per pair accumulates a tile of up to 64 × 8
//! values in registers (at most 24 of the 32), so the loop is bound by the multiply–adds:
//! 127 GFLOP/s on the MLP's shape, 116 on the subnet's (`examples/gemm_outer.rs`).
//!
//! The mirror case, few output *rows* (`ȳᵀ h` of an 8-wide output layer), is left to faer:
//! with the operands on cache lines ([`CacheAligned`](crate::allocator::CacheAligned)) faer
//! ran it at 153–168 GFLOP/s against this loop's 131.
//!
//! **Order of operations.** Each output element is the one of
//! [`gemm_skinny`](super::gemm_skinny): summed from zero over `k` in order, one fused
//! multiply–add per term, in blocks of [`KC`] terms, the first block's sum stored (or added to
//! the destination when accumulating) and each later block's sum added to it. That is also
//! faer's order on the project machines, so results are the bits they were (tested against
//! both; the test against faer is ignored, as the one in `gemm_skinny`, since faer's order is
//! not a documented contract).

#![allow(unsafe_code)]

use std::ops::Range;

use super::gemm::Dst;
use super::gemm_skinny::KC;

/// The most output columns (one broadcast per column and term).
pub(crate) const MAX_COLS: usize = 8;

/// The fewest: one column is a matrix–vector product, which faer sums in another order
/// (several partial sums per dot product); left to it, as in `gemm_skinny`.
const MIN_COLS: usize = 2;

/// The fewest rows of `C` in a block: two vectors.
const MIN_ROWS: usize = 32;

/// f32 lanes of one AVX-512 register.
const LANES: usize = 16;

/// Writes rows `rows` of `Aᵀ B` (`A` stored `[k, m]`, `B` stored `[k, n]`) into `dst`
/// (`rows.len() × n`, row-major) when the kernel applies: `ta && !tb`, `k ≥ 2` (faer fuses a
/// one-term sum into an accumulated output), `2 ≤ n ≤ 8`, at least 32 rows, and a CPU with
/// AVX-512F. Returns whether it did; `false` leaves `dst` untouched.
///
/// # Panics
/// If `dst` does not hold `rows.len() · n` values or `rows` runs past `m`.
pub(crate) fn product(
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
        "gemm_outer: destination of {len} values for rows {rows:?} of {m}×{k}·{k}×{n}"
    );
    let applies = ta && !tb && k >= 2 && (MIN_COLS..=MAX_COLS).contains(&n);
    if !(applies && rows.len() >= MIN_ROWS && has_avx512()) {
        return false;
    }
    let block = Block {
        a: a.as_ptr().wrapping_add(rows.start),
        m,
        rows: rows.len(),
        b: b.as_ptr(),
        n,
    };
    // SAFETY: `ptr` addresses `rows.len() · n` writable f32 (checked above; only an `Add`
    // destination is read, and it is initialised); `block` indexes `A` at `l · m + i` for
    // `i < rows.len()` past `rows.start` (inside `A`, as `rows ⊆ 0..m`) and `B` at `l · n + j`
    // for `j < n`, for every `l < k`; the CPU has AVX-512F (checked above).
    unsafe { run_avx512(ptr, add, k, &block) };
    true
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The operands of a block of `C`'s rows: `A` from the block's first row (`m` apart from one
/// term to the next), `B` whole (`n` apart).
struct Block {
    a: *const f32,
    m: usize,
    rows: usize,
    b: *const f32,
    n: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(c: *mut f32, add: bool, k: usize, p: &Block) {
    // SAFETY: forwarded from `product`; each arm's `Q` is the block's column count.
    unsafe {
        match p.n {
            2 => tiles::<2, 4>(c, add, k, p),
            3 => tiles::<3, 4>(c, add, k, p),
            4 => tiles::<4, 4>(c, add, k, p),
            5 => tiles::<5, 4>(c, add, k, p),
            6 => tiles::<6, 4>(c, add, k, p),
            7 => tiles::<7, 3>(c, add, k, p),
            8 => tiles::<8, 3>(c, add, k, p),
            q => unreachable!("gemm_outer: {q} columns"),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn run_avx512(_: *mut f32, _: bool, _: usize, _: &Block) {}

/// `C` in tiles of `V·16` rows × `Q` columns, `k` in blocks of [`KC`] (module docs).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tiles<const Q: usize, const V: usize>(c: *mut f32, add: bool, k: usize, p: &Block) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller's contract of `product`; loads of `A` are masked to the
    // block's rows, broadcasts read columns `< Q = n` of `B`, and `store` writes inside the
    // destination.
    unsafe {
        let mut r0 = 0;
        while r0 < p.rows {
            let masks: [__mmask16; V] = std::array::from_fn(|v| {
                let valid = p.rows.saturating_sub(r0 + v * LANES).min(LANES);
                ((1u32 << valid) - 1) as __mmask16
            });
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + KC).min(k);
                let mut acc = [[_mm512_setzero_ps(); V]; Q];
                for l in k0..k1 {
                    let a_l = p.a.add(l * p.m + r0);
                    let a: [__m512; V] = std::array::from_fn(|v| {
                        _mm512_maskz_loadu_ps(masks[v], a_l.add(v * LANES))
                    });
                    let b_l = p.b.add(l * p.n);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let bj = _mm512_set1_ps(*b_l.add(j));
                        for (s, av) in acc.iter_mut().zip(&a) {
                            *s = _mm512_fmadd_ps(*av, bj, *s);
                        }
                    }
                }
                store::<Q, V>(c, &acc, k0 == 0 && !add, r0, p);
                k0 = k1;
            }
            r0 += V * LANES;
        }
    }
}

/// Writes (`first`) or adds one tile of block sums, held column by column, into the rows
/// `r0..` of the row-major `C`, through a buffer.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store<const Q: usize, const V: usize>(
    c: *mut f32,
    acc: &[[std::arch::x86_64::__m512; V]; Q],
    first: bool,
    r0: usize,
    p: &Block,
) {
    use std::arch::x86_64::*;
    let mut tile = [[0.0f32; LANES]; 4 * MAX_COLS];
    // SAFETY: `tile` has room for `Q · V ≤ 32` vectors; the writes to `C` are rows
    // `r0 + i < p.rows` of `n = Q` columns, inside the destination.
    unsafe {
        for (j, acc) in acc.iter().enumerate() {
            for (v, s) in acc.iter().enumerate() {
                _mm512_storeu_ps(tile[j * V + v].as_mut_ptr(), *s);
            }
        }
        for i in 0..(p.rows - r0).min(V * LANES) {
            let out = c.add((r0 + i) * p.n);
            for j in 0..Q {
                let s = tile[j * V + i / LANES][i % LANES];
                *out.add(j) = if first { s } else { *out.add(j) + s };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[cfg(test)]
#[path = "gemm_outer_tests.rs"]
mod tests;
