//! Maxima of the rows of a row-major `[rows, len]` block: `max_axis` over the last axis, the
//! first step of every `logsumexp`, `softmax` and `log_softmax` (mixture log-densities, the
//! spline bins of NSF, classifier losses).
//!
//! The rule is the serial scan `m ← x if x > m or x is NaN`, from `−∞`: the largest value,
//! the *first* element holding it where values tie (only `+0` and `−0` tie with different
//! bits), the *last* NaN where there is one. That scan is one dependent compare-and-select
//! per element (~4 cycles); ndarray's `fold_axis` walks it column by column at about 1 ns per
//! element. Here each row is read once into [`LANES`] independent running maxima, which the
//! compiler vectorises; their maximum is the scan's answer whenever it is neither a NaN nor a
//! zero (two equal non-zero floats have the same bits, so which copy wins cannot show). A
//! row with a NaN or a zero maximum is scanned serially instead, so every result is the
//! scan's bit for bit (tested).

use crate::dtype::Element;

/// Running maxima kept per row: one AVX2 register of f32.
const LANES: usize = 8;

/// One step of the serial scan: `x` replaces the running maximum `m` if larger or NaN.
/// `max_axis` folds every other axis with it too.
#[inline]
pub(crate) fn keep_max<T: Element>(m: T, x: T) -> T {
    if x > m || x.is_nan() { x } else { m }
}

/// The serial scan, the definition every path must agree with.
#[inline]
fn scan<T: Element>(row: &[T]) -> T {
    row.iter().fold(T::neg_infinity(), |m, &x| keep_max(m, x))
}

/// The maximum of one row by [`LANES`] running maxima, and whether it held a NaN.
#[inline]
fn lanes_max<T: Element>(row: &[T]) -> (T, bool) {
    let mut acc = [T::neg_infinity(); LANES];
    let mut nan = [false; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for ((m, n), &x) in acc.iter_mut().zip(&mut nan).zip(chunk) {
            *m = if x > *m { x } else { *m };
            *n |= x.is_nan();
        }
    }
    for &x in chunks.remainder() {
        acc[0] = if x > acc[0] { x } else { acc[0] };
        nan[0] |= x.is_nan();
    }
    let m = acc
        .iter()
        .fold(T::neg_infinity(), |m, &x| if x > m { x } else { m });
    (m, nan.iter().any(|&n| n))
}

/// `out[r] = max_j xs[r, j]` by the serial scan's rule, for `len > 0`.
///
/// # Panics
/// If `len` is zero or does not divide `xs.len()`.
pub(crate) fn row_max<T: Element>(xs: &[T], len: usize) -> Vec<T> {
    assert!(
        len > 0 && xs.len().is_multiple_of(len),
        "row_max: {} values are not rows of {len}",
        xs.len()
    );
    xs.chunks_exact(len)
        .map(|row| match lanes_max(row) {
            (m, false) if m != T::zero() => m,
            _ => scan(row),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Rows of every length class (shorter than the lanes, a multiple, with a tail), holding
    /// ties of ±0 in both orders, NaNs of different payloads, infinities and plain values,
    /// give the serial scan's bits; and the fast path is what runs for ordinary rows.
    #[test]
    fn row_maxima_are_the_serial_scans_bit_for_bit() {
        let nan_a = f32::from_bits(0x7fc0_0001);
        let nan_b = f32::from_bits(0xffc0_0002);
        let specials: [&[f32]; 8] = [
            &[0.0, -0.0, -1.0],
            &[-0.0, 0.0, -1.0],
            &[-3.0, nan_a, 2.0, nan_b, 1.0],
            &[f32::NEG_INFINITY; 3],
            &[f32::INFINITY, 5.0],
            &[-2.0, -0.0, -5.0, 0.0, -0.0, -7.0, -1.0, -3.0, 0.0, -9.0],
            &[1.0],
            &[nan_a],
        ];
        for row in specials {
            assert_eq!(
                bits(&row_max(row, row.len())),
                bits(&[scan(row)]),
                "{row:?}"
            );
        }
        for len in [1, 3, 8, 16, 17, 256] {
            let xs: Vec<f32> = (0..len * 9)
                .map(|i| match i % 97 {
                    13 => -0.0,
                    14 => 0.0,
                    _ => ((i * 7919 % 1009) as f32 - 800.0) * 0.37,
                })
                .collect();
            let want: Vec<f32> = xs.chunks(len).map(scan).collect();
            assert_eq!(bits(&row_max(&xs, len)), bits(&want), "rows of {len}");
        }
        let row = [1.0f32, 9.0, -4.0, 9.0, 2.0, 3.0, 0.5, 8.0, 7.0];
        assert_eq!(lanes_max(&row), (9.0, false));
        let f64_row = [-0.0f64, 0.0];
        assert_eq!(row_max(&f64_row, 2)[0].to_bits(), scan(&f64_row).to_bits());
    }

    #[test]
    #[should_panic(expected = "row_max")]
    fn ragged_rows_panic_with_the_lengths() {
        row_max(&[1.0f32; 7], 2);
    }
}
