//! Adaptive weighting of the boundary and residual terms, in the PINN learning-rate-annealing
//! form of TRADE's train_INN path (`trade.md` §1.6; `repo: trainables.py __update_lambda_PINF`):
//! every few steps, with `g_b = ‖∇_θ L_boundary‖` and `g_r = ‖∇_θ L_TRADE‖`,
//!
//! `λ_b ← α λ_b + (1 − α)(g_r + g_b)/(g_b + 10⁻⁴)`, `λ_r ← α λ_r + (1 − α)(g_r + g_b)/(g_r + 10⁻⁴)`,
//!
//! and the residual enters with weight `λ_r / λ_b` (times the ramp), so the term with the
//! smaller gradient is up-weighted. Initial values λ_b = 1, λ_r = 10⁻³.
//!
//! The Lightning path's rule (`trade.md` §1.6; `repo: boltzmann_generator.py
//! update_adaptive_lambdas`), [`AdaptiveRule::Lightning`]: with `P` parameters,
//! `g_i = clip(‖∇_θ L_i‖/P, 10⁻⁵, 10⁹)`, `r_i = Σ_j g_j / g_i` normalised to sum 1 and clipped
//! to `[10⁻⁴, 10³]`, `w_i ← α r_i + (1 − α) w_i`. The paper weights both terms,
//! `w_b L_b + λ(t) w_r L_r`; here the residual enters with `w_r / w_b` next to an unweighted
//! boundary, the same loss up to the overall factor `w_b` (which Adam's step nearly ignores,
//! gradient clipping aside).

use serde::{Deserialize, Serialize};

/// Which update rule the adaptive weights follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdaptiveRule {
    /// The train_INN path's PINN learning-rate annealing ([`AdaptiveWeights::update`]).
    #[default]
    Pinn,
    /// The Lightning path's normalised inverse gradient norms
    /// ([`AdaptiveWeights::update_lightning`]).
    Lightning,
}

/// Settings of the adaptive weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveConfig {
    /// Update every this many steps.
    pub every: u64,
    /// EMA factor α ∈ [0, 1].
    pub alpha: f64,
    /// The update rule.
    #[serde(default)]
    pub rule: AdaptiveRule,
}

/// The current `(λ_b, λ_r)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveWeights {
    /// Boundary weight.
    pub boundary: f64,
    /// Residual weight.
    pub residual: f64,
}

impl Default for AdaptiveWeights {
    fn default() -> Self {
        AdaptiveWeights {
            boundary: 1.0,
            residual: 1e-3,
        }
    }
}

impl AdaptiveWeights {
    /// One update from the two gradient norms (see the module docs).
    ///
    /// ```
    /// use flow_trade::adaptive::AdaptiveWeights;
    /// let mut w = AdaptiveWeights { boundary: 1.0, residual: 1.0 };
    /// w.update(2.0, 2.0, 0.5);
    /// assert!((w.boundary - w.residual).abs() < 1e-12);
    /// ```
    pub fn update(&mut self, grad_boundary: f64, grad_residual: f64, alpha: f64) {
        let sum = grad_boundary + grad_residual;
        self.boundary = alpha * self.boundary + (1.0 - alpha) * sum / (grad_boundary + 1e-4);
        self.residual = alpha * self.residual + (1.0 - alpha) * sum / (grad_residual + 1e-4);
    }

    /// One Lightning-path update from the two gradient norms and the parameter count
    /// (see the module docs).
    ///
    /// ```
    /// use flow_trade::adaptive::AdaptiveWeights;
    /// let mut w = AdaptiveWeights::default();
    /// for _ in 0..200 {
    ///     w.update_lightning(3.0, 3.0, 10, 0.1);
    /// }
    /// assert!((w.boundary - 0.5).abs() < 1e-6 && (w.residual - 0.5).abs() < 1e-6);
    /// ```
    pub fn update_lightning(
        &mut self,
        grad_boundary: f64,
        grad_residual: f64,
        params: usize,
        alpha: f64,
    ) {
        let p = params.max(1) as f64;
        let g = [grad_boundary, grad_residual].map(|v| (v / p).clamp(1e-5, 1e9));
        let sum = g[0] + g[1];
        let r = g.map(|gi| sum / gi);
        let total = r[0] + r[1];
        let r = r.map(|ri| (ri / total).clamp(1e-4, 1e3));
        self.boundary = alpha * r[0] + (1.0 - alpha) * self.boundary;
        self.residual = alpha * r[1] + (1.0 - alpha) * self.residual;
    }

    /// The relative weight `λ_r / λ_b` of the residual term.
    pub fn ratio(&self) -> f64 {
        self.residual / self.boundary
    }
}

/// `‖∂t/∂θ‖₂` over all of `params` together: the gradient norm of one loss term that the
/// adaptive rules compare between the boundary and the residual term.
pub fn grad_norm(t: &flow_core::Tensor, params: &[&flow_core::Tensor]) -> f64 {
    flow_core::grad(t, params)
        .iter()
        .map(|g| g.square().sum_all().item())
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smaller_gradient_gets_the_larger_weight_and_updates_are_convex() {
        let mut w = AdaptiveWeights::default();
        let before = w;
        w.update(10.0, 0.1, 0.9);
        // Targets: (10.1/10.0001, 10.1/0.1001); the update is their convex combination with
        // the old values, so each new value lies between old and target.
        let (tb, tr) = (10.1 / 10.0001, 10.1 / 0.1001);
        assert!((w.boundary - (0.9 * before.boundary + 0.1 * tb)).abs() < 1e-12);
        assert!((w.residual - (0.9 * before.residual + 0.1 * tr)).abs() < 1e-12);
        assert!(w.residual > before.residual && w.residual < tr);
        // Repeated updates converge to the targets, where the residual is up-weighted.
        for _ in 0..500 {
            w.update(10.0, 0.1, 0.9);
        }
        assert!((w.ratio() - tr / tb).abs() < 1e-6 * tr / tb && w.ratio() > 50.0);
    }

    /// The mechanism GMM-6 v4 tried against its cold-end divergence: with the paper's GMM
    /// α = 0.015, a few updates at fixed norms settle the ratio at `(g_b + 10⁻⁴)/(g_r + 10⁻⁴)`,
    /// so the weighted residual gradient `ratio · g_r` equals `g_b` (within 2·10⁻⁴: the 10⁻⁴ guards) whether
    /// the residual's own gradient is 1 or 10⁶ times the boundary's: a residual that blows up
    /// cannot take over the (clipped) step. Fixed weights would let `ratio · g_r` grow with
    /// `g_r` (10⁶ here).
    #[test]
    fn pinn_rule_pins_the_weighted_residual_gradient_to_the_boundary_gradient() {
        let g_b = 0.7;
        for g_r in [0.7, 70.0, 7e5] {
            let mut w = AdaptiveWeights::default();
            for _ in 0..10 {
                w.update(g_b, g_r, 0.015);
            }
            let weighted = w.ratio() * g_r;
            assert!(
                (weighted - g_b).abs() < 2e-4,
                "g_r {g_r}: weighted residual gradient {weighted}, boundary {g_b}"
            );
        }
    }

    /// Lightning rule: the new weights are the convex combination of the old ones and the
    /// normalised inverse norms; the smaller gradient gets the larger weight; the clips
    /// (norms at 1e-5 after dividing by P, normalised weights at 1e-4) bound the ratio.
    #[test]
    fn lightning_rule_is_convex_upweights_the_small_gradient_and_clips() {
        let mut w = AdaptiveWeights::default();
        let before = w;
        w.update_lightning(10.0, 0.1, 1, 0.1);
        // g = (10, 0.1): r ∝ (10.1/10, 10.1/0.1) = (1.01, 101), normalised (0.0099, 0.9901).
        let (rb, rr) = (1.01 / 102.01, 101.0 / 102.01);
        assert!((w.boundary - (0.1 * rb + 0.9 * before.boundary)).abs() < 1e-12);
        assert!((w.residual - (0.1 * rr + 0.9 * before.residual)).abs() < 1e-12);
        for _ in 0..500 {
            w.update_lightning(10.0, 0.1, 1, 0.1);
        }
        assert!((w.ratio() - 100.0).abs() < 1e-6);
        // A vanishing residual gradient: g_r/P is clipped at 1e-5, so with g_b/P = 1 the
        // normalised r = (1e-5, 1 − 1e-5) (to 1e-10), and r_b is clipped up to 1e-4: the
        // ratio settles at (1 − 1e-5)/1e-4 ≈ 1e4, not infinity.
        let mut w = AdaptiveWeights::default();
        for _ in 0..2000 {
            w.update_lightning(1.0, 0.0, 1, 0.1);
        }
        assert!((w.ratio() - 9999.9).abs() < 1e-3, "{}", w.ratio());
    }
}
