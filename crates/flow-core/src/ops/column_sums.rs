//! Column sums of a row-major `[rows, inner]` block: the bias gradient of a batch (`Σ_b ḡ_bj`),
//! taken by every linear layer's backward pass.
//!
//! Each column is one top-to-bottom loop, `((x_0j + x_1j) + x_2j) + …`, whatever the path or
//! the thread count, so results are bit-identical to the plain loop (tested). What makes it
//! fast is keeping a block of [`LANES`] column sums in registers while the rows stream past
//! (the plain loop loaded and stored every partial sum once per row), over row bands that
//! stay in L1, compiled for AVX-512F and AVX2 as well and chosen at run time like
//! `fastmath::simd`. The bias gradients took 2.9 % of the one-thread MLP training step in
//! `perf` before, 1.2–1.3 % after (session 14, BENCHMARKS.md).

use std::ops::Add;

use crate::dtype::Element;
use crate::parallel;

/// Column sums kept in registers at once: 4 AVX-512 registers of f32, 8 of f64.
const LANES: usize = 64;

/// Rows summed per band: a band of a 256-column f32 block is 16 KiB, half of L1.
const BAND_ROWS: usize = 16;

/// Sums of the columns of `xs` (`[rows, inner]` row-major), each a top-to-bottom loop.
/// Activation-sized inputs split the *columns* among the compute team, so every sum keeps its
/// serial order: bit-identical to one loop for any thread count.
pub(crate) fn sum_rows_by_columns<T: Element>(xs: &[T], inner: usize) -> Vec<T> {
    const MIN_PART_COLUMNS: usize = 16;
    if inner == 1 {
        // A full sum (`sum_all`, `mean_all`: every loss): the same serial order as the band
        // loop below, without its per-row slicing, which made it ~4x slower than the chain
        // of dependent additions that bounds it (session 17).
        return vec![xs.iter().fold(T::zero(), |s, &v| s + v)];
    }
    let parts = parallel::team::elementwise_parts(xs.len())
        .min(inner / MIN_PART_COLUMNS)
        .max(1);
    let mut acc = vec![T::zero(); inner];
    let cols = inner.div_ceil(parts);
    let blocks: Vec<(usize, &mut [T])> = acc
        .chunks_mut(cols)
        .enumerate()
        .map(|(p, block)| (p * cols, block))
        .collect();
    parallel::team::run_parts(blocks, parts, |(j0, out)| add_columns(out, xs, inner, j0));
    acc
}

/// `out[j] += Σ_r xs[r, j0 + j]`, rows in order, on the widest instruction set the CPU has.
fn add_columns<T: Copy + Add<Output = T>>(out: &mut [T], xs: &[T], inner: usize, j0: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement of
        // the `target_feature` function.
        #[allow(unsafe_code)]
        return unsafe { add_columns_avx512(out, xs, inner, j0) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: as above, for AVX2.
        #[allow(unsafe_code)]
        return unsafe { add_columns_avx2(out, xs, inner, j0) };
    }
    add_columns_plain(out, xs, inner, j0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn add_columns_avx512<T: Copy + Add<Output = T>>(out: &mut [T], xs: &[T], inner: usize, j0: usize) {
    add_columns_plain(out, xs, inner, j0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_columns_avx2<T: Copy + Add<Output = T>>(out: &mut [T], xs: &[T], inner: usize, j0: usize) {
    add_columns_plain(out, xs, inner, j0)
}

/// The loop every path compiles: bands of [`BAND_ROWS`] rows; in each band, blocks of
/// [`LANES`] columns summed in a local array (registers), then the narrower tail.
#[inline(always)]
fn add_columns_plain<T: Copy + Add<Output = T>>(out: &mut [T], xs: &[T], inner: usize, j0: usize) {
    assert!(
        inner > 0 && xs.len().is_multiple_of(inner) && j0 + out.len() <= inner,
        "column sums: {} values are not rows of {inner} holding columns {j0}..{}",
        xs.len(),
        j0 + out.len()
    );
    let width = out.len();
    let full = width - width % LANES;
    for band in xs.chunks(BAND_ROWS * inner) {
        for (b, sums) in out[..full].chunks_exact_mut(LANES).enumerate() {
            let start = j0 + b * LANES;
            let mut acc: [T; LANES] = sums.try_into().expect("a block of LANES sums");
            for row in band.chunks_exact(inner) {
                let row: &[T; LANES] = row[start..start + LANES]
                    .try_into()
                    .expect("a block of LANES values");
                for (s, &v) in acc.iter_mut().zip(row) {
                    *s = *s + v;
                }
            }
            sums.copy_from_slice(&acc);
        }
        let tail = &mut out[full..];
        for row in band.chunks_exact(inner) {
            let row = &row[j0 + full..j0 + width];
            tail.iter_mut().zip(row).for_each(|(s, &v)| *s = *s + v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: one top-to-bottom loop per column.
    fn naive(xs: &[f32], inner: usize) -> Vec<f32> {
        (0..inner)
            .map(|j| xs.iter().skip(j).step_by(inner).fold(0.0, |s, &v| s + v))
            .collect()
    }

    /// Values whose sums round differently in any other order.
    fn values(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 % 10007) as f32 - 5003.0) * 1.37e-3 * (1.0 + (i % 13) as f32))
            .collect()
    }

    /// Every shape class (one column: a full sum; narrow, exactly one block, blocks plus a
    /// tail, several bands, rows not a multiple of a band, large enough to split among the
    /// team) gives the bits of the per-column loop, and so does every instruction-set path
    /// on its own.
    #[test]
    fn column_sums_keep_each_columns_serial_order_bit_for_bit() {
        for (rows, inner) in [
            (1, 1),
            (2048, 1),
            (5, 8),
            (33, 64),
            (17, 100),
            (512, 256),
            (700, 200),
        ] {
            let xs = values(rows * inner);
            let want: Vec<u32> = naive(&xs, inner).iter().map(|v| v.to_bits()).collect();
            let got: Vec<u32> = sum_rows_by_columns(&xs, inner)
                .iter()
                .map(|v| v.to_bits())
                .collect();
            assert_eq!(got, want, "{rows}×{inner}");
            let j0 = inner / 3;
            let mut plain = vec![0.5f32; inner - j0];
            add_columns_plain(&mut plain, &xs, inner, j0);
            let mut dispatched = vec![0.5f32; inner - j0];
            add_columns(&mut dispatched, &xs, inner, j0);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&plain),
                bits(&dispatched),
                "{rows}×{inner}, from column {j0}"
            );
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let mut avx2 = vec![0.5f32; inner - j0];
                // SAFETY: the CPU has AVX2 (checked just above).
                #[allow(unsafe_code)]
                unsafe {
                    add_columns_avx2(&mut avx2, &xs, inner, j0)
                };
                assert_eq!(bits(&plain), bits(&avx2), "{rows}×{inner}, AVX2");
            }
        }
    }

    #[test]
    #[should_panic(expected = "column sums")]
    fn a_ragged_block_panics_with_the_shapes() {
        add_columns_plain(&mut [0.0f64; 3], &[1.0; 10], 4, 0);
    }
}
