//! The SBI-benchmark two-moons likelihood and TRADE's tempered posterior
//! `p_β(θ | x) ∝ p(x | θ)^β π(θ)` (Greenberg et al. arXiv 1905.07488; sbibm, Lueckmann et
//! al. arXiv 2101.04653; TRADE `two_moons.py`).
//!
//! Simulator: `a ~ U(−π/2, π/2)`, `r ~ N(0.1, 0.01²)`,
//! `x = (r cos a + 0.25 − |θ₁ + θ₂|/√2, r sin a + (θ₂ − θ₁)/√2)`. With
//! `u = x − m(θ) − (0.25, 0)`, the exact likelihood is
//! `p(x|θ) = N(|u|; 0.1, 0.01²) · (1/π) · 1[u₁ > 0] / |u|` (polar change of variables).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use flow_core::Tensor;

use super::{Energy, Parameter, check_input};

/// Mean radius of the simulator's arc.
pub const R_MEAN: f64 = 0.1;
/// Standard deviation of the radius.
pub const R_STD: f64 = 0.01;

/// `log p(x | θ)` for `x` and `θ` of shape `[batch, 2]` (or `x: [1, 2]` broadcast);
/// `−∞` where `u₁ ≤ 0`. Differentiable in θ and x inside the support.
///
/// # Panics
/// If the shapes are not `[·, 2]`.
pub fn two_moons_log_likelihood(x: &Tensor, theta: &Tensor) -> Tensor {
    assert!(
        x.ndim() == 2 && x.dim(1) == 2,
        "two_moons_log_likelihood: x must be [b, 2], got {:?}",
        x.shape()
    );
    check_input("two_moons_log_likelihood", theta, 2);
    let (t1, t2) = (
        theta.narrow(1, 0, 1).squeeze(1),
        theta.narrow(1, 1, 1).squeeze(1),
    );
    let u1 = x
        .narrow(1, 0, 1)
        .squeeze(1)
        .add(&t1.add(&t2).abs().mul_scalar(FRAC_1_SQRT_2))
        .add_scalar(-0.25);
    let u2 = x
        .narrow(1, 1, 1)
        .squeeze(1)
        .sub(&t2.sub(&t1).mul_scalar(FRAC_1_SQRT_2));
    let r = u1.square().add(&u2.square()).sqrt();
    let z = r.add_scalar(-R_MEAN).mul_scalar(1.0 / R_STD);
    let log_n = z
        .square()
        .mul_scalar(-0.5)
        .add_scalar(-(R_STD * (2.0 * PI).sqrt()).ln());
    let ll = log_n.sub(&r.log()).add_scalar(-PI.ln());
    let mask = u1.gt_scalar(0.0);
    Tensor::where_cond(&mask, &ll, &ll.scalar_like(f64::NEG_INFINITY))
}

/// The prior over θ.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TwoMoonsPrior {
    /// `N(0, std² I)` (TRADE code: std = 0.3).
    Gaussian {
        /// Standard deviation.
        std: f64,
    },
    /// `U(−h, h)²` (SBI benchmark: h = 1).
    Uniform {
        /// Half-width h.
        half_width: f64,
    },
}

impl TwoMoonsPrior {
    /// `log π(θ)` per sample (`−∞` outside a uniform prior's box).
    pub fn log_prob(&self, theta: &Tensor) -> Tensor {
        match *self {
            TwoMoonsPrior::Gaussian { std } => theta
                .square()
                .sum_axis(1, false)
                .mul_scalar(-0.5 / (std * std))
                .add_scalar(-(2.0 * PI * std * std).ln()),
            TwoMoonsPrior::Uniform { half_width } => {
                let inside = theta
                    .abs()
                    .lt_scalar(half_width)
                    .sum_axis(1, false)
                    .gt_scalar(1.5);
                let zero = theta.sum_axis(1, false).mul_scalar(0.0);
                let v = zero.add_scalar(-(4.0 * half_width * half_width).ln());
                Tensor::where_cond(&inside, &v, &v.scalar_like(f64::NEG_INFINITY))
            }
        }
    }
}

/// `E(θ, β) = −β log p(x_obs | θ) − log π(θ)`, `∂E/∂β = −log p(x_obs | θ)`
/// (TRADE's `TwoMoonsEnergy.derivative` omits a 1/β; this is the exact derivative).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TwoMoonsPosterior {
    /// The observation.
    pub x_obs: [f64; 2],
    /// The prior.
    pub prior: TwoMoonsPrior,
}

impl TwoMoonsPosterior {
    fn log_lik(&self, theta: &Tensor) -> Tensor {
        let x = Tensor::from_vec(self.x_obs.to_vec(), &[1, 2]).to_dtype(theta.dtype());
        two_moons_log_likelihood(&x, theta)
    }
}

impl Energy for TwoMoonsPosterior {
    fn dim(&self) -> usize {
        2
    }

    fn parameter(&self) -> Parameter {
        Parameter::LikelihoodPower
    }

    fn reference_parameter(&self) -> f64 {
        1.0
    }

    fn energy(&self, theta: &Tensor, beta: &Tensor) -> Tensor {
        self.log_lik(theta)
            .mul(beta)
            .add(&self.prior.log_prob(theta))
            .neg()
    }

    fn energy_dc(&self, theta: &Tensor, _beta: &Tensor) -> Tensor {
        self.log_lik(theta).neg()
    }
}
