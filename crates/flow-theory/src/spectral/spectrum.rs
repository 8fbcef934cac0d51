//! Numerical spectra with rustfft (arXiv 1806.08734, Sec. 3: the normalised one-sided
//! amplitude `2|FFT(f)_k|/N`).

use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;

use crate::stats::{LineFit, fit_line};

/// The DFT `F_k = Σ_j f_j e^{−2πijk/N}` of real samples.
pub fn dft(samples: &[f64]) -> Vec<Complex64> {
    let mut buf: Vec<Complex64> = samples.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    FftPlanner::new()
        .plan_fft_forward(buf.len())
        .process(&mut buf);
    buf
}

/// One-sided amplitudes `2|F_k|/N` for `k = 0..=N/2` (a sine of amplitude `A` at integer
/// frequency `k` gives `A`).
pub fn amplitude_spectrum(samples: &[f64]) -> Vec<f64> {
    let n = samples.len();
    dft(samples)
        .iter()
        .take(n / 2 + 1)
        .map(|c| 2.0 * c.norm() / n as f64)
        .collect()
}

/// Log-log slope of the octave envelope of `|f̃(k)|`: for octaves `[2^m, 2^{m+1})` inside
/// `[k_lo, k_hi]`, the maximum of `coeffs[k]` in each octave against its upper end `2^{m+1}`
/// (theory.md PT-D2; the prediction for a piecewise-linear `f` with the linear trend removed
/// is −2, arXiv 1806.08734, Sec. 2).
///
/// # Panics
/// If fewer than three octaves fit in the range or it exceeds `coeffs`.
pub fn octave_envelope_slope(coeffs: &[f64], k_lo: usize, k_hi: usize) -> LineFit {
    assert!(
        k_hi < coeffs.len() && k_lo >= 1,
        "octave_envelope_slope: range outside coefficients"
    );
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut lo = k_lo;
    while 2 * lo <= k_hi + 1 {
        let max = coeffs[lo..2 * lo].iter().copied().fold(0.0, f64::max);
        xs.push(((2 * lo) as f64).ln());
        ys.push(max.ln());
        lo *= 2;
    }
    assert!(xs.len() >= 3, "octave_envelope_slope: need ≥ 3 octaves");
    fit_line(&xs, &ys)
}
