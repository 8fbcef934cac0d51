//! The TRADE objective's pieces (arXiv 2410.19492, §3; `trade.md` §1.2):
//!
//! `L = λ_b L_boundary + λ_pde L_TRADE`, with
//! - `L_boundary = −mean log q_θ(x | c₀)` on data at `c₀` ([`nll_boundary`]), or the reverse
//!   KL `mean_{x~q_θ(·|c₀)}[log q_θ(x|c₀) + E(x, c₀)]` when only the energy is known
//!   ([`reverse_kl_at`], the data-free variant);
//! - `L_TRADE = mean ρ(∂_c log q_θ(x|c) − sg[Ê_c[A] − A(x; c)])` ([`residual_loss`]) with the
//!   standard Huber penalty ρ ([`huber`]).

use flow_core::Tensor;
use rand::Rng;

use crate::family::{Family, c_vec};
use crate::flow::ParamFlow;

/// Standard Huber `ρ_δ(r) = ½r²` for `|r| < δ`, else `δ(|r| − ½δ)`, element-wise
/// (continuous with continuous first derivative at `|r| = δ`).
///
/// ```
/// use flow_core::Tensor;
/// let r = Tensor::from_vec(vec![0.5f64, -3.0], &[2]);
/// let h = flow_trade::loss::huber(&r, 1.0).to_vec_f64();
/// assert_eq!(h, vec![0.125, 2.5]);
/// ```
pub fn huber(r: &Tensor, delta: f64) -> Tensor {
    assert!(delta > 0.0, "huber: delta must be positive, got {delta}");
    let a = r.abs();
    let quad = r.square().mul_scalar(0.5);
    let lin = a.add_scalar(-0.5 * delta).mul_scalar(delta);
    Tensor::where_cond(&a.lt_scalar(delta), &quad, &lin)
}

/// Boundary NLL `−mean log q_θ(x | c₀)` on a data batch `x: [n, dim]`.
pub fn nll_boundary(model: &ParamFlow, x: &Tensor, c0: f64) -> Tensor {
    let c = c_vec(c0, x.dim(0), x);
    model.log_prob(x, &c).neg().mean_all()
}

/// Reverse KL up to `log Z`: `mean[log q_θ(x|c) + E(x, c)]` over `c.len()` reparameterised
/// flow samples at the parameters `c: [n]` (one per sample). Non-finite terms are kept, so a
/// diverging step is seen by the training loop (not silently dropped as in the official code).
pub fn reverse_kl_at<R: Rng + ?Sized>(
    model: &ParamFlow,
    family: &Family,
    c: &Tensor,
    rng: &mut R,
) -> Tensor {
    let (x, log_q) = model.sample_and_log_prob(c, rng);
    log_q.add(&family.energy(&x, c)).mean_all()
}

/// The TRADE residual loss `mean ρ_δ(∂_c log q_θ(x|c) − target)` on detached evaluation points
/// `x: [n, dim]` at parameters `c: [n]`, with the detached `target = Ê_c[A] − A(x; c)`.
/// `∂_c log q_θ` is taken by forward mode in `c` ([`ParamFlow::log_prob_and_dc`]), so the
/// loss is differentiable in θ.
pub fn residual_loss(
    model: &ParamFlow,
    x: &Tensor,
    c: &Tensor,
    target: &Tensor,
    delta: f64,
) -> Tensor {
    residual_terms(model, x, c, target, delta).mean_all()
}

/// The per-sample terms `ρ_δ(∂_c log q_θ(x_i|c_i) − target_i)`, `[n]` (for per-grid-point
/// loss averages).
pub fn residual_terms(
    model: &ParamFlow,
    x: &Tensor,
    c: &Tensor,
    target: &Tensor,
    delta: f64,
) -> Tensor {
    let (_, g) = model.log_prob_and_dc(&x.detach(), c);
    huber(&g.sub(&target.detach()), delta)
}

/// `sg[Ê_c[A] − A(x; c)]`, `[n]`, given the per-sample expectations `ex: [n]`.
pub fn residual_target(family: &Family, x: &Tensor, c: &Tensor, ex: &Tensor) -> Tensor {
    ex.sub(&family.a(x, c)).detach()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huber_is_c1_at_delta() {
        let d = 0.3;
        let eps = 1e-7;
        let h = |r: f64| huber(&Tensor::from_vec(vec![r], &[1]), d).item();
        // Value continuity and slope continuity (slope δ on both sides).
        assert!((h(d - eps) - h(d + eps)).abs() < 1e-6);
        let left = (h(d - eps) - h(d - 2.0 * eps)) / eps;
        let right = (h(d + 2.0 * eps) - h(d + eps)) / eps;
        assert!(
            (left - d).abs() < 1e-5 && (right - d).abs() < 1e-5,
            "{left} {right}"
        );
        // SmoothL1(β = δ) = Huber/δ at a point in each branch.
        let smooth_l1 = |r: f64| {
            if r.abs() < d {
                0.5 * r * r / d
            } else {
                r.abs() - 0.5 * d
            }
        };
        for r in [0.1, 0.9, -2.0] {
            assert!((h(r) / d - smooth_l1(r)).abs() < 1e-12);
        }
    }
}
