//! The non-standardness `S` and the Gaussian entropy (arXiv 2210.14032, Sec. 3, the loss
//! decomposition `KL(p‖N(0,I)) = G(p) + S(p)`).

use std::f64::consts::{E, PI};

use nalgebra::{DMatrix, DVector};

use crate::linalg::log_det_spd;

/// `S = ½(‖m‖² + tr Σ − D − log det Σ) = KL(N(m,Σ) ‖ N(0,I))`
/// (arXiv 2210.14032, Sec. 3, non-standardness).
///
/// # Panics
/// If the shapes disagree or `Σ` is not positive definite.
pub fn non_standardness(mean: &DVector<f64>, cov: &DMatrix<f64>) -> f64 {
    assert_eq!(
        mean.len(),
        cov.nrows(),
        "non_standardness: mean {} vs cov {}",
        mean.len(),
        cov.nrows()
    );
    0.5 * mean.norm_squared() + non_standardness_cov(cov)
}

/// `S` of a centred covariance: `½(tr Σ − D − log det Σ)` (arXiv 2210.14032, Sec. 3).
///
/// # Panics
/// If `Σ` is not positive definite.
pub fn non_standardness_cov(cov: &DMatrix<f64>) -> f64 {
    let d = cov.nrows() as f64;
    0.5 * (cov.trace() - d - log_det_spd(cov))
}

/// `S = ½ Σᵢ (λᵢ − 1 − log λᵢ)` from the eigenvalues of a centred covariance
/// (arXiv 2210.14032, Sec. 3; code `loss.py::compute_non_standardness`).
pub fn non_standardness_eigen(eigenvalues: &[f64]) -> f64 {
    0.5 * eigenvalues.iter().map(|l| l - 1.0 - l.ln()).sum::<f64>()
}

/// `−½ Σᵢ log λᵢ` for eigenvalues normalised to mean 1 — the non-standardness after an
/// ActNorm (code `loss.py::compute_non_standardness_centered`, arXiv 2210.14032).
/// The eigenvalues are rescaled to mean 1 here.
pub fn non_standardness_centered(eigenvalues: &[f64]) -> f64 {
    let mean = eigenvalues.iter().sum::<f64>() / eigenvalues.len() as f64;
    -0.5 * eigenvalues.iter().map(|l| (l / mean).ln()).sum::<f64>()
}

/// Differential entropy of `N(m, Σ)`: `(D/2) log(2πe) + ½ log det Σ` (nats).
///
/// # Panics
/// If `Σ` is not positive definite.
pub fn gaussian_entropy(cov: &DMatrix<f64>) -> f64 {
    0.5 * cov.nrows() as f64 * (2.0 * PI * E).ln() + 0.5 * log_det_spd(cov)
}
