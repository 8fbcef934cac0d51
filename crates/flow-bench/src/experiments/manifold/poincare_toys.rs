//! The wrapped-at-origin toys of `mfff-poincare` (the official
//! `fff/distributions/wrapped_at_origin.py`): samplers, exact densities w.r.t. the hyperbolic
//! area, and the official configs' loss weights.

use flow_core::Tensor;
use flow_manifold::wrapped::log_det_exp0;
use flow_manifold::{LossWeights, Manifold, PoincareBall};
use rand::Rng;
use serde::{Deserialize, Serialize};

impl HyperbolicToy {
    /// The loss weights of the official config (`configs/m-fff/hyperbolic_five_gaussians.yaml`
    /// and `hyperbolic_checkerboard.yaml` at `02db8ec`): βR 1000, `x_sample_reconstruction`
    /// 100, `z_reconstruction` 100, no `z_sample_reconstruction`; projections z 1 / x₁ 100
    /// (five Gaussians) and 100 / 100 (checkerboard).
    pub fn official_weights(self) -> LossWeights {
        LossWeights {
            noisy_reconstruction: 1000.0,
            x_sample_reconstruction: 100.0,
            z_sample_reconstruction: 0.0,
            z_reconstruction: 100.0,
            z_projection: match self {
                HyperbolicToy::FiveGaussians => 1.0,
                HyperbolicToy::Checkerboard => 100.0,
            },
            x1_projection: 100.0,
        }
    }
}

/// The official code's wrapped-at-origin toys (`fff/distributions/wrapped_at_origin.py`):
/// a tangent-space density at 0 pushed through `exp_0(v) = tanh‖v‖ v/‖v‖`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HyperbolicToy {
    /// Five Gaussians N(μ_k, σ²I), μ_k ∈ {(±r, 0), (0, ±r), (0, 0)}, r = 1.5, σ = 0.25.
    FiveGaussians,
    /// Uniform on 8 squares of side 0.75 at the official offsets (a checkerboard).
    Checkerboard,
}

pub(super) const RADIUS: f64 = 1.5;
pub(super) const SIGMA: f64 = 0.25;
pub(super) const SIDE: f64 = 0.75;
const CENTRES: [[f64; 2]; 5] = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 0.0]];
const OFFSETS: [[f64; 2]; 8] = [
    [0.0, 0.0],
    [0.0, -2.0],
    [1.0, 1.0],
    [1.0, -1.0],
    [-1.0, 1.0],
    [-1.0, -1.0],
    [-2.0, 0.0],
    [-2.0, -2.0],
];

impl HyperbolicToy {
    pub(super) fn label(self) -> &'static str {
        match self {
            HyperbolicToy::FiveGaussians => "five Gaussians",
            HyperbolicToy::Checkerboard => "checkerboard",
        }
    }
    fn sample_tangent(self, rng: &mut dyn Rng) -> [f64; 2] {
        use rand::RngExt;
        match self {
            HyperbolicToy::FiveGaussians => {
                let c = CENTRES[rng.random_range(0..5)];
                let g = Tensor::randn(&[2], flow_core::DType::F64, rng).to_vec_f64();
                [RADIUS * c[0] + SIGMA * g[0], RADIUS * c[1] + SIGMA * g[1]]
            }
            HyperbolicToy::Checkerboard => {
                let o = OFFSETS[rng.random_range(0..8)];
                let (u, w): (f64, f64) = (rng.random(), rng.random());
                [SIDE * (o[0] + u), SIDE * (o[1] + w)]
            }
        }
    }
    /// Log-density of the tangent vector (−∞ off the checkerboard).
    fn log_density_tangent(self, v: [f64; 2]) -> f64 {
        match self {
            HyperbolicToy::FiveGaussians => CENTRES
                .iter()
                .map(|c| {
                    let d2 = (v[0] - RADIUS * c[0]).powi(2) + (v[1] - RADIUS * c[1]).powi(2);
                    0.2 * (-0.5 * d2 / (SIGMA * SIGMA)).exp()
                        / (2.0 * std::f64::consts::PI * SIGMA * SIGMA)
                })
                .sum::<f64>()
                .ln(),
            HyperbolicToy::Checkerboard => {
                let inside = OFFSETS
                    .iter()
                    .any(|o| (0..2).all(|i| (SIDE * o[i]..SIDE * (o[i] + 1.0)).contains(&v[i])));
                if inside {
                    -(8.0 * SIDE * SIDE).ln()
                } else {
                    f64::NEG_INFINITY
                }
            }
        }
    }
}

pub(super) fn sample_toy(toy: HyperbolicToy, n: usize, rng: &mut dyn Rng) -> Tensor {
    let mut v = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let [a, b] = toy.sample_tangent(rng);
        let r = (a * a + b * b).sqrt().max(1e-300);
        v.extend([r.tanh() * a / r, r.tanh() * b / r]);
    }
    Tensor::from_vec(v, &[n, 2])
}

/// Exact log-density w.r.t. the hyperbolic area: tangent density of `log_0 x`, minus
/// `log|det J_{exp_0}|` and `½ log det G(x)`.
pub(super) fn toy_log_prob(toy: HyperbolicToy, x: &Tensor) -> Vec<f64> {
    let ball = PoincareBall::new(2);
    let half_g = ball.log_metric_det(x).to_vec_f64();
    x.to_vec_f64()
        .chunks(2)
        .zip(half_g)
        .map(|(p, g)| {
            let nx = (p[0] * p[0] + p[1] * p[1]).sqrt().max(1e-300);
            let r = nx.atanh();
            let v = [p[0] * r / nx, p[1] * r / nx];
            toy.log_density_tangent(v) - log_det_exp0(2, r) - 0.5 * g
        })
        .collect()
}
