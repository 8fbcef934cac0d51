//! Free-energy curves by thermodynamic integration over the `E_c[A]` grid (`trade.md` §4):
//!
//! `log Z(c) − log Z(c₀) = −∫_{c₀}^{c} E_{p(·|c')}[A] dc'`, since `∂_c log Z = −E_p[∂_c E]`.
//!
//! The trapezoid rule on the grid has error `O(Δc²)`; TRADE's cached EX_A table is exactly
//! the integrand, so the curve costs nothing extra.

/// `log Z(c_k) − log Z(c_base)` for every grid point by the trapezoid rule on `(cs, ex)`
/// (`cs` strictly increasing, `ex[k] = E_{c_k}[A]`).
///
/// # Panics
/// If the lengths differ, `base` is out of range, or `cs` is not increasing.
///
/// ```
/// // Gaussian E = x²/(2T): E_T[A] = −1/(2T), so log Z(T) − log Z(1) = ½ log T.
/// let cs: Vec<f64> = (0..=400).map(|i| 0.5 + i as f64 * 0.005).collect();
/// let ex: Vec<f64> = cs.iter().map(|t| -0.5 / t).collect();
/// let base = 100; // c = 1.0
/// let f = flow_trade::free_energy::trapezoid_log_z(&cs, &ex, base);
/// assert!((f[400] - 0.5 * 2.5f64.ln()).abs() < 1e-5);
/// ```
pub fn trapezoid_log_z(cs: &[f64], ex: &[f64], base: usize) -> Vec<f64> {
    assert_eq!(
        cs.len(),
        ex.len(),
        "trapezoid_log_z: {} nodes vs {} values",
        cs.len(),
        ex.len()
    );
    assert!(
        base < cs.len(),
        "trapezoid_log_z: base {base} out of {}",
        cs.len()
    );
    assert!(
        cs.windows(2).all(|w| w[1] > w[0]),
        "trapezoid_log_z: nodes must increase"
    );
    let mut out = vec![0.0; cs.len()];
    for k in base + 1..cs.len() {
        out[k] = out[k - 1] - 0.5 * (ex[k] + ex[k - 1]) * (cs[k] - cs[k - 1]);
    }
    for k in (0..base).rev() {
        out[k] = out[k + 1] + 0.5 * (ex[k] + ex[k + 1]) * (cs[k + 1] - cs[k]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_data::energy::DoubleWell2d;
    use flow_data::energy::quadrature::expectation;

    /// E_T[A] of the 2-D double well from 1-D quadrature: A = −u/T², u = q(x₁) + ½x₂², and
    /// E_T[½x₂²] = T/2 exactly.
    fn ex_double_well(t: f64) -> f64 {
        let dw = DoubleWell2d::bgflow();
        let q = |x: f64| dw.a * x + dw.b * x * x + dw.c * x.powi(4);
        let eq = expectation(|x| -q(x) / t, q, -8.0, 8.0, 4000);
        -(eq + 0.5 * t) / (t * t)
    }

    /// TI on a uniform grid of T ∈ [0.4, 1.1] reproduces log Z(T) − log Z(1) of the 2-D
    /// double well (quadrature), with error O(Δc²): halving Δc divides the error by ≈ 4
    /// (asserted in [3, 5]; quadrature error ≈ 1e-10 is far below the trapezoid error).
    #[test]
    fn ti_matches_quadrature_with_second_order_error() {
        let dw = DoubleWell2d::bgflow();
        let err = |m: usize| {
            // Grid with T = 1 as a node: [0.4, 1.1] in steps of 0.7/m... choose m multiple of 7.
            let h = 0.7 / m as f64;
            let cs: Vec<f64> = (0..=m).map(|i| 0.4 + h * i as f64).collect();
            let base = (0.6 / h).round() as usize;
            assert!((cs[base] - 1.0).abs() < 1e-12);
            let ex: Vec<f64> = cs.iter().map(|&t| ex_double_well(t)).collect();
            let f = trapezoid_log_z(&cs, &ex, base);
            let exact0 = dw.log_z(0.4) - dw.log_z(1.0);
            (f[0] - exact0).abs()
        };
        let (e1, e2) = (err(14), err(28));
        assert!(e1 < 0.05, "coarse TI error {e1}");
        let ratio = e1 / e2;
        assert!(
            (3.0..5.0).contains(&ratio),
            "errors {e1}, {e2}, ratio {ratio}"
        );
    }

    /// The same for the D-dimensional Gaussian (analytic `(D/2) log(T₁/T₀)`).
    #[test]
    fn ti_matches_gaussian_closed_form() {
        let d = 3.0;
        let cs: Vec<f64> = (0..=300).map(|i| 0.5 + i as f64 * 0.005).collect();
        let ex: Vec<f64> = cs.iter().map(|t| -d / (2.0 * t)).collect();
        let f = trapezoid_log_z(&cs, &ex, 100);
        let exact = 0.5 * d * (2.0f64 / 1.0).ln();
        // Trapezoid error ≈ Δc²/12 ∫|f''| ≈ 2e-6 here.
        assert!((f[300] - exact).abs() < 1e-4, "{} vs {exact}", f[300]);
        assert!((f[0] - 0.5 * d * 0.5f64.ln()).abs() < 1e-4);
    }

    /// `E_T[u]` of GMM-6 (u = −log GMM) by the 2-D trapezoid rule with spacing 0.05 on
    /// `[−L, L]²`, `L = 10 + 6√T`: for T ≥ 1 the narrowest component's std is ≥ 0.09, so the
    /// spectral error of the trapezoid rule is ~exp(−2π²σ²/h²) ≈ e⁻⁶⁴.
    fn gmm6_mean_u(t: f64) -> f64 {
        use flow_data::energy::Gmm6;
        let h = 0.05;
        let l = 10.0 + 6.0 * t.sqrt();
        let n = (2.0 * l / h).ceil() as usize;
        let lp: Vec<f64> = (0..=n)
            .flat_map(|i| (0..=n).map(move |j| (i, j)))
            .map(|(i, j)| Gmm6::log_density_f64(-l + h * i as f64, -l + h * j as f64))
            .collect();
        let m = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max) / t;
        let (mut num, mut den) = (0.0, 0.0);
        for v in lp {
            let w = (v / t - m).exp();
            num += w * -v;
            den += w;
        }
        num / den
    }

    /// TI over the exact E_T[A] = −E_T[u]/T² of GMM-6 reproduces log Z(2) − log Z(1) from
    /// flow-data's quadrature of Z, with the trapezoid error shrinking ≈ 4× when Δc halves
    /// (asserted in [3, 5]).
    #[test]
    fn ti_matches_gmm6_quadrature_with_second_order_error() {
        use flow_data::energy::Gmm6;
        let exact = Gmm6::log_z(2.0, 0.05) - Gmm6::log_z(1.0, 0.05);
        let fine: Vec<f64> = (0..=8).map(|i| 1.0 + 0.125 * i as f64).collect();
        let ex_fine: Vec<f64> = fine.iter().map(|&t| -gmm6_mean_u(t) / (t * t)).collect();
        let coarse: Vec<f64> = fine.iter().step_by(2).copied().collect();
        let ex_coarse: Vec<f64> = ex_fine.iter().step_by(2).copied().collect();
        let e_fine = (trapezoid_log_z(&fine, &ex_fine, 0)[8] - exact).abs();
        let e_coarse = (trapezoid_log_z(&coarse, &ex_coarse, 0)[4] - exact).abs();
        assert!(e_fine < 0.01, "fine TI error {e_fine}");
        let ratio = e_coarse / e_fine;
        assert!(
            (3.0..5.0).contains(&ratio),
            "errors {e_coarse}, {e_fine}, ratio {ratio}"
        );
    }
}
