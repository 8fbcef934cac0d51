//! φ⁴ lattice observables (TRADE `Evaluate_ScalarTheory.ipynb`; `boltzmann-targets.md`
//! §4.3), from MCMC draws or from flow samples with self-normalised importance weights.
//!
//! With `M = Σ_x φ_x`, `Ω = L²` and `m = M/Ω`:
//!
//! - magnetisation `⟨|m|⟩`;
//! - action density `⟨S⟩/Ω`;
//! - susceptibility `χ = Ω(⟨m²⟩ − ⟨|m|⟩²)`;
//! - Binder cumulant `U_L = 1 − ⟨m⁴⟩/(3⟨m²⟩²)`.
//!
//! Standard errors come from independent groups (row `r` belongs to group `r mod G`): for
//! MCMC draws ordered `t · chains + chain` with `G` dividing the number of chains, each group
//! is a set of whole, independent chains, so the spread of the group estimates is an honest
//! Monte-Carlo error even with autocorrelated draws.

use serde::{Deserialize, Serialize};

/// The four lattice observables.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phi4Observables {
    /// `⟨|m|⟩`.
    pub abs_m: f64,
    /// `⟨S⟩/Ω`.
    pub action_density: f64,
    /// `χ = Ω(⟨m²⟩ − ⟨|m|⟩²)`.
    pub chi: f64,
    /// `U_L = 1 − ⟨m⁴⟩/(3⟨m²⟩²)`.
    pub binder: f64,
}

impl Phi4Observables {
    /// The observables as `[⟨|m|⟩, ⟨S⟩/Ω, χ, U_L]`.
    pub fn to_array(self) -> [f64; 4] {
        [self.abs_m, self.action_density, self.chi, self.binder]
    }

    /// Display names in the order of [`Phi4Observables::to_array`].
    pub const NAMES: [&'static str; 4] = ["⟨|m|⟩", "action density ⟨S⟩/Ω", "χ", "Binder U_L"];
}

/// The observables of the rows `rows` of `phi` (`[n · dim]` row-major, `dim = Ω`), with
/// actions `action` and optional log-weights (unnormalised; `None`: equal weights).
///
/// # Panics
/// If the lengths disagree or `rows` is empty.
fn estimate(
    phi: &[f64],
    dim: usize,
    action: &[f64],
    log_w: Option<&[f64]>,
    rows: &[usize],
) -> Phi4Observables {
    assert!(!rows.is_empty(), "lattice observables: no samples");
    let omega = dim as f64;
    let max_lw = log_w.map_or(0.0, |lw| {
        rows.iter()
            .map(|&r| lw[r])
            .fold(f64::NEG_INFINITY, f64::max)
    });
    let (mut sw, mut am, mut m2, mut m4, mut s) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &r in rows {
        let w = log_w.map_or(1.0, |lw| (lw[r] - max_lw).exp());
        let m = phi[r * dim..(r + 1) * dim].iter().sum::<f64>() / omega;
        sw += w;
        am += w * m.abs();
        m2 += w * m * m;
        m4 += w * m.powi(4);
        s += w * action[r];
    }
    let (am, m2, m4, s) = (am / sw, m2 / sw, m4 / sw, s / sw);
    Phi4Observables {
        abs_m: am,
        action_density: s / omega,
        chi: omega * (m2 - am * am),
        binder: 1.0 - m4 / (3.0 * m2 * m2),
    }
}

/// The observables over all samples and their standard errors from `groups` independent
/// groups (row `r` in group `r mod groups`): `(estimate, standard error)`.
///
/// # Panics
/// If `phi.len() ≠ n · dim` with `n = action.len()`, the weights' length differs from `n`,
/// or `groups < 2` or `groups > n`.
pub fn observables_with_error(
    phi: &[f64],
    dim: usize,
    action: &[f64],
    log_w: Option<&[f64]>,
    groups: usize,
) -> (Phi4Observables, Phi4Observables) {
    let n = action.len();
    assert!(
        phi.len() == n * dim && log_w.is_none_or(|w| w.len() == n),
        "lattice observables: phi has {} values, expected {n} × {dim}",
        phi.len()
    );
    assert!(
        groups >= 2 && groups <= n,
        "lattice observables: need 2 ≤ groups ≤ {n}, got {groups}"
    );
    let all: Vec<usize> = (0..n).collect();
    let est = estimate(phi, dim, action, log_w, &all);
    let per: Vec<[f64; 4]> = (0..groups)
        .map(|g| {
            let rows: Vec<usize> = (g..n).step_by(groups).collect();
            estimate(phi, dim, action, log_w, &rows).to_array()
        })
        .collect();
    let g = groups as f64;
    let se = |k: usize| {
        let mean = per.iter().map(|a| a[k]).sum::<f64>() / g;
        let var = per.iter().map(|a| (a[k] - mean).powi(2)).sum::<f64>() / (g - 1.0);
        (var / g).sqrt()
    };
    let err = Phi4Observables {
        abs_m: se(0),
        action_density: se(1),
        chi: se(2),
        binder: se(3),
    };
    (est, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand_distr::{Distribution, StandardNormal};

    /// Two hand-computed configurations of a 2-site "lattice": m = 1 and m = −3.
    #[test]
    fn matches_hand_computation() {
        let phi = [1.0, 1.0, -3.0, -3.0];
        let action = [2.0, 6.0];
        let all = [0, 1];
        let o = estimate(&phi, 2, &action, None, &all);
        // ⟨|m|⟩ = 2, ⟨m²⟩ = 5, ⟨m⁴⟩ = 41, ⟨S⟩ = 4.
        assert!((o.abs_m - 2.0).abs() < 1e-12);
        assert!((o.action_density - 2.0).abs() < 1e-12);
        assert!((o.chi - 2.0 * (5.0 - 4.0)).abs() < 1e-12);
        assert!((o.binder - (1.0 - 41.0 / 75.0)).abs() < 1e-12);
        // Weight 3:1 on the first row: ⟨|m|⟩ = 1.5, ⟨m²⟩ = 3, ⟨m⁴⟩ = 21.
        let lw = [3f64.ln() + 7.0, 7.0];
        let w = estimate(&phi, 2, &action, Some(&lw), &all);
        assert!((w.abs_m - 1.5).abs() < 1e-12);
        assert!((w.chi - 2.0 * (3.0 - 2.25)).abs() < 1e-12);
        assert!((w.binder - (1.0 - 21.0 / 27.0)).abs() < 1e-12);
        assert!((w.action_density - 1.5).abs() < 1e-12);
    }

    /// Independent sites `φ_x ~ N(0, σ²)` (the action at κ = λ = 0 is `Σ φ²`, σ² = 1/2):
    /// `m ~ N(0, σ²/Ω)`, so `⟨|m|⟩ = √(2σ²/(πΩ))`, `χ = σ²(1 − 2/π)`, `U_L = 0` (Gaussian
    /// kurtosis 3) and `⟨S⟩/Ω = σ²`; the estimates agree within 4 of their group errors.
    #[test]
    fn gaussian_field_oracle() {
        let (dim, n, sigma2) = (16, 40_000, 0.5f64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let phi: Vec<f64> = (0..n * dim)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                sigma2.sqrt() * z
            })
            .collect();
        let action: Vec<f64> = phi
            .chunks(dim)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        let (o, e) = observables_with_error(&phi, dim, &action, None, 20);
        let omega = dim as f64;
        let exact = [
            (2.0 * sigma2 / (std::f64::consts::PI * omega)).sqrt(),
            sigma2,
            sigma2 * (1.0 - 2.0 / std::f64::consts::PI),
            0.0,
        ];
        for k in 0..4 {
            let (got, se) = (o.to_array()[k], e.to_array()[k]);
            assert!(
                se > 0.0 && (got - exact[k]).abs() < 4.0 * se,
                "{}: {got} vs {} (SE {se})",
                Phi4Observables::NAMES[k],
                exact[k]
            );
        }
    }

    /// Equal log-weights give the unweighted estimate; a weight of zero drops its row.
    #[test]
    fn weights_behave() {
        let phi = [0.5, 1.5, -2.0, 0.0, 3.0, 1.0];
        let action = [1.0, 2.0, 3.0];
        let all = [0, 1, 2];
        let a = estimate(&phi, 2, &action, None, &all);
        let b = estimate(&phi, 2, &action, Some(&[4.2, 4.2, 4.2]), &all);
        for (x, y) in a.to_array().iter().zip(b.to_array()) {
            assert!((x - y).abs() < 1e-12);
        }
        let c = estimate(&phi, 2, &action, Some(&[0.0, f64::NEG_INFINITY, 0.0]), &all);
        let d = estimate(&phi, 2, &action, None, &[0, 2]);
        for (x, y) in c.to_array().iter().zip(d.to_array()) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
