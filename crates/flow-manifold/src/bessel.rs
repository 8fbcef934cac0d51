//! Modified Bessel functions in log space and the von Mises–Fisher normaliser.
//!
//! The vMF density on `S^{d−1} ⊂ R^d` is `C_d(κ) exp(κ μᵀx)` with
//! `C_d(κ) = κ^{ν} / ((2π)^{d/2} I_ν(κ))`, `ν = d/2 − 1` (Mardia & Jupp, Directional
//! Statistics, §9.3.1), and `d/dκ log C_d(κ) = −I_{ν+1}(κ)/I_ν(κ)`.

use std::f64::consts::PI;

/// `ln Γ(x)`: flow-core's Lanczos approximation (re-exported here for the vMF normaliser).
pub use flow_core::distributions::ln_gamma;

/// `ln I_ν(κ)` for `ν ≥ 0`, `κ > 0`: the power series summed in log space for `κ < 400`,
/// the large-argument expansion `e^κ/√(2πκ) Σ_j (−1)^j a_j(ν)/κ^j` (five terms) above.
///
/// # Panics
/// If `κ ≤ 0` or `ν < 0`.
pub fn ln_bessel_i(nu: f64, kappa: f64) -> f64 {
    assert!(
        kappa > 0.0 && nu >= 0.0,
        "ln_bessel_i: need κ > 0, ν ≥ 0 (got {kappa}, {nu})"
    );
    if kappa < 400.0 {
        // I_ν(κ) = Σ_k (κ/2)^{2k+ν} / (k! Γ(k+ν+1)).
        let lh = (kappa / 2.0).ln();
        let mut term = nu * lh - ln_gamma(nu + 1.0);
        let (mut max, mut terms) = (term, vec![term]);
        for k in 0..100_000usize {
            let kf = k as f64;
            term += 2.0 * lh - (kf + 1.0).ln() - (kf + nu + 1.0).ln();
            terms.push(term);
            max = max.max(term);
            if term < max - 40.0 {
                break;
            }
        }
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    } else {
        let mu = 4.0 * nu * nu;
        let (mut sum, mut a) = (1.0, 1.0);
        for j in 1..=5 {
            let jf = j as f64;
            a *= -(mu - (2.0 * jf - 1.0).powi(2)) / (jf * 8.0 * kappa);
            sum += a;
        }
        kappa - 0.5 * (2.0 * PI * kappa).ln() + sum.ln()
    }
}

/// `log C_d(κ)`, the log normaliser of the vMF density on `S^{d−1} ⊂ R^d` with respect to
/// the surface measure (`d ≥ 2`). On S² (d = 3) it equals `log κ − log(4π sinh κ)`.
///
/// ```
/// let k: f64 = 2.5;
/// let closed = k.ln() - (4.0 * std::f64::consts::PI * k.sinh()).ln();
/// assert!((flow_manifold::bessel::log_vmf_normaliser(3, k) - closed).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `d < 2` or `κ ≤ 0`.
pub fn log_vmf_normaliser(d: usize, kappa: f64) -> f64 {
    assert!(d >= 2, "log_vmf_normaliser: ambient dimension {d} < 2");
    let nu = d as f64 / 2.0 - 1.0;
    nu * kappa.ln() - (d as f64 / 2.0) * (2.0 * PI).ln() - ln_bessel_i(nu, kappa)
}

/// `d/dκ log C_d(κ) = −I_{d/2}(κ)/I_{d/2−1}(κ)` (the negative mean resultant length).
///
/// # Panics
/// As [`log_vmf_normaliser`].
pub fn dlog_vmf_normaliser(d: usize, kappa: f64) -> f64 {
    assert!(d >= 2, "dlog_vmf_normaliser: ambient dimension {d} < 2");
    let nu = d as f64 / 2.0 - 1.0;
    -(ln_bessel_i(nu + 1.0, kappa) - ln_bessel_i(nu, kappa)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        // Γ(n) = (n − 1)!, Γ(1/2) = √π; Lanczos is accurate to ~1e-14 relative.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - 0.5 * PI.ln()).abs() < 1e-12);
        assert!((ln_gamma(10.5) - crate::manifold::ln_gamma_half(21)).abs() < 1e-10);
    }

    #[test]
    fn bessel_half_order_closed_forms() {
        // I_{1/2}(κ) = √(2/(πκ)) sinh κ, on both branches (series below 400, expansion above,
        // where the five-term expansion is exact for ν = 1/2).
        for k in [0.01, 1.0, 7.0, 120.0, 399.0, 401.0, 2000.0] {
            let exact = (2.0 / (PI * k)).sqrt().ln() + k + (-(-2.0 * k).exp()).ln_1p() - 2f64.ln();
            assert!(
                (ln_bessel_i(0.5, k) - exact).abs() < 1e-10 * exact.abs().max(1.0),
                "κ = {k}"
            );
        }
    }

    #[test]
    fn normaliser_slope_matches_finite_difference() {
        // Central differences with h = 1e-5: truncation error O(h²) ~ 1e-10.
        for d in [2, 3, 5] {
            for k in [0.3, 4.0, 50.0, 600.0] {
                let h = 1e-5;
                let fd = (log_vmf_normaliser(d, k + h) - log_vmf_normaliser(d, k - h)) / (2.0 * h);
                assert!(
                    (fd - dlog_vmf_normaliser(d, k)).abs() < 1e-6,
                    "d = {d}, κ = {k}"
                );
            }
        }
    }
}
