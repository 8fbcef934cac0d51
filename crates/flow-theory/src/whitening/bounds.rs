//! Expectation bounds over Haar rotations for one optimal linear coupling block
//! (arXiv 2210.14032, Sec. 4, Theorems on the expected decrease; code `bounds.py`).
//!
//! Inputs are eigenvalues normalised to mean 1, so `S = −½ Σ log λ`.

use crate::whitening::nonstandardness::non_standardness_centered;

fn check(d: usize, d_active: usize) {
    assert!(
        d >= 2 && d_active >= 1 && d_active < d,
        "bounds: need 1 ≤ d_a < D, got d_a = {d_active}, D = {d}"
    );
}

/// The asymptotic per-block contraction `ρ_A = 1 − 2 d_a d_p / ((D−1)(D+2))`
/// (arXiv 2210.14032, linear convergence as `S → 0` of the loss-only bound).
///
/// # Panics
/// If `1 ≤ d_a < D` fails.
pub fn rho_a(d: usize, d_active: usize) -> f64 {
    check(d, d_active);
    let (d, da) = (d as f64, d_active as f64);
    1.0 - 2.0 * da * (d - da) / ((d - 1.0) * (d + 2.0))
}

/// The var-max bound on `E_Q S'`:
/// `S + (d_a/2) log(1 − D d_p / ((D+2)(D−1)) · Var(λ)/λ_max)` with the population variance of
/// the mean-1 eigenvalues (arXiv 2210.14032; code `bounds.py::compute_var_max_bound`).
///
/// # Panics
/// If `1 ≤ d_a < D` fails.
pub fn var_max_bound(eigenvalues: &[f64], d_active: usize) -> f64 {
    let d = eigenvalues.len();
    check(d, d_active);
    let mean = eigenvalues.iter().sum::<f64>() / d as f64;
    let lam: Vec<f64> = eigenvalues.iter().map(|l| l / mean).collect();
    let var = lam.iter().map(|l| (l - 1.0).powi(2)).sum::<f64>() / d as f64;
    let max = lam.iter().copied().fold(f64::MIN, f64::max);
    let (df, dp) = (d as f64, (d - d_active) as f64);
    let x = df * dp / ((df + 2.0) * (df - 1.0)) * var / max;
    non_standardness_centered(&lam) + 0.5 * d_active as f64 * (-x).ln_1p()
}

/// The loss-only bound on `E_Q S'` given only `S`: with `g = e^{−2S/D}` and `r = √(1 − g^D)`,
/// `S + (d_a/2) log(1 − 2 D d_p/((D−1)(D+2)) · (1−r)/(1+r) · (1−g))`
/// (arXiv 2210.14032; code `bounds.py::compute_loss_only_bound_by_loss`).
///
/// # Panics
/// If `1 ≤ d_a < D` fails.
pub fn loss_only_bound(s: f64, d: usize, d_active: usize) -> f64 {
    check(d, d_active);
    let (df, dp) = (d as f64, (d - d_active) as f64);
    // 1 − g^D = 1 − e^{−2S}, written with exp_m1 for accuracy at small S.
    let r = (-(-2.0 * s).exp_m1()).sqrt();
    // 1 − g = −expm1(−2S/D); ln(1 − x) by ln_1p for accuracy at small S.
    let x = 2.0 * df * dp / ((df - 1.0) * (df + 2.0)) * (1.0 - r) / (1.0 + r)
        * -(-2.0 * s / df).exp_m1();
    s + 0.5 * d_active as f64 * (-x).ln_1p()
}
