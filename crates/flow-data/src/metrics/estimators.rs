//! KL divergences with a known normaliser, importance-sampling estimates of log Z and free
//! energy differences, and the NLL convention conversion (`boltzmann-targets.md` §5).

use std::f64::consts::PI;

use crate::energy::quadrature::log_sum_exp;

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Forward `KL(p ‖ q) = mean_i [log p̃(x_i) − log Z − log q(x_i)]` with `x_i ~ p` and a
/// known `log Z` (the GMM-6 table of TRADE).
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn forward_kl_known_z(log_p_unnorm: &[f64], log_z: f64, log_q: &[f64]) -> f64 {
    assert!(
        !log_q.is_empty() && log_p_unnorm.len() == log_q.len(),
        "forward_kl: length mismatch"
    );
    mean(
        &log_p_unnorm
            .iter()
            .zip(log_q)
            .map(|(p, q)| p - log_z - q)
            .collect::<Vec<_>>(),
    )
}

/// Reverse `KL(q ‖ p) = mean_i [log q(x_i) − log p̃(x_i) + log Z]` with `x_i ~ q`.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn reverse_kl_known_z(log_q: &[f64], log_p_unnorm: &[f64], log_z: f64) -> f64 {
    -forward_kl_known_z(log_p_unnorm, log_z, log_q)
}

/// `log Ẑ = LSE_i(lw_i) − log N` with `lw = log p̃(x) − log q(x)`, `x ~ q`. `Ẑ` is unbiased;
/// `log Ẑ` is biased low (Jensen) with a bias that grows as the ESS drops.
///
/// # Panics
/// If `log_weights` is empty.
pub fn log_z_importance(log_weights: &[f64]) -> f64 {
    assert!(!log_weights.is_empty(), "log_z_importance: no weights");
    log_sum_exp(log_weights) - (log_weights.len() as f64).ln()
}

/// Free-energy perturbation (Zwanzig): `log(Z₁/Z₀) = log E_{p₀}[exp(−(E₁ − E₀))]` from
/// samples of `p₀` and both energies at those samples; `ΔF = −log(Z₁/Z₀)` in kT.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn fep_delta_log_z(e0: &[f64], e1: &[f64]) -> f64 {
    assert!(
        !e0.is_empty() && e0.len() == e1.len(),
        "fep: length mismatch"
    );
    let lw: Vec<f64> = e0.iter().zip(e1).map(|(a, b)| a - b).collect();
    log_z_importance(&lw)
}

/// Converts bgflow's NLL `½‖f(x)‖² − log|det J_f|` (no Gaussian constant) to the normalised
/// NLL by adding `½ D_eff log 2π`, with `D_eff = (N−1)·d` for mean-free particle systems or
/// the plain dimension otherwise.
pub fn nll_bgflow_to_normalised(nll_bgflow: f64, effective_dim: usize) -> f64 {
    nll_bgflow + 0.5 * effective_dim as f64 * (2.0 * PI).ln()
}
