//! Adaptive weighting of the boundary and residual terms, in the PINN learning-rate-annealing
//! form of TRADE's train_INN path (`trade.md` §1.6; `repo: trainables.py __update_lambda_PINF`):
//! every few steps, with `g_b = ‖∇_θ L_boundary‖` and `g_r = ‖∇_θ L_TRADE‖`,
//!
//! `λ_b ← α λ_b + (1 − α)(g_r + g_b)/(g_b + 10⁻⁴)`, `λ_r ← α λ_r + (1 − α)(g_r + g_b)/(g_r + 10⁻⁴)`,
//!
//! and the residual enters with weight `λ_r / λ_b` (times the ramp), so the term with the
//! smaller gradient is up-weighted. Initial values λ_b = 1, λ_r = 10⁻³.

use serde::{Deserialize, Serialize};

/// Settings of the adaptive weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveConfig {
    /// Update every this many steps.
    pub every: u64,
    /// EMA factor α ∈ [0, 1].
    pub alpha: f64,
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

    /// The relative weight `λ_r / λ_b` of the residual term.
    pub fn ratio(&self) -> f64 {
        self.residual / self.boundary
    }
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
}
