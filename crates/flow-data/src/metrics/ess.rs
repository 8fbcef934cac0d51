//! Relative effective sample sizes from log importance weights, computed in log space.
//!
//! References: Kish (1965); bgflow `sampling_efficiency`; Midgley et al., FAB, arXiv
//! 2208.01893 (forward ESS); `boltzmann-targets.md` §5.2.

use crate::energy::quadrature::log_sum_exp;

/// Reverse (Kish) ESS: with `x_i ~ q` and `lw_i = log p̃(x_i) − log q(x_i)`,
/// `ESS/N = exp(2 LSE(lw) − LSE(2 lw) − log N) ∈ (0, 1]`. Invariant to adding a constant to
/// all `lw`; blind to modes q never visits.
///
/// # Panics
/// If `log_weights` is empty.
///
/// ```
/// use flow_data::metrics::reverse_ess;
/// assert!((reverse_ess(&[1000.0; 8]) - 1.0).abs() < 1e-12);
/// let one_hot = [0.0, f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
/// assert!((reverse_ess(&one_hot) - 0.25).abs() < 1e-12);
/// ```
pub fn reverse_ess(log_weights: &[f64]) -> f64 {
    assert!(!log_weights.is_empty(), "reverse_ess: no weights");
    let doubled: Vec<f64> = log_weights.iter().map(|l| 2.0 * l).collect();
    (2.0 * log_sum_exp(log_weights) - log_sum_exp(&doubled) - (log_weights.len() as f64).ln()).exp()
}

/// Forward ESS: with `x_i ~ p` and `lw_i = log p̃(x_i) − log q(x_i)`,
/// `ESS/N = N² / (Σ w_i · Σ 1/w_i)`, from `1/E_q[w̄²] = 1/(E_p[w] E_p[1/w])`. Penalises
/// modes that q misses. Invariant to adding a constant to `lw`.
///
/// # Panics
/// If `log_weights` is empty.
pub fn forward_ess(log_weights: &[f64]) -> f64 {
    assert!(!log_weights.is_empty(), "forward_ess: no weights");
    let neg: Vec<f64> = log_weights.iter().map(|l| -l).collect();
    let n = log_weights.len() as f64;
    (2.0 * n.ln() - log_sum_exp(log_weights) - log_sum_exp(&neg)).exp()
}
