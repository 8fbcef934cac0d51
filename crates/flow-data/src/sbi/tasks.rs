//! The task definitions (sbibm `tasks/<name>/task.py`).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use flow_core::Tensor;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::SbiTask;

pub(super) fn normal(rng: &mut dyn Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn uniform_box(n: usize, d: usize, half: f64, rng: &mut dyn Rng) -> Tensor {
    let v = (0..n * d)
        .map(|_| half * (2.0 * rng.random::<f64>() - 1.0))
        .collect();
    Tensor::from_vec(v, &[n, d])
}

/// Draws until `n` samples pass `accept`, each from `propose`.
fn rejection(
    n: usize,
    d: usize,
    rng: &mut dyn Rng,
    mut propose: impl FnMut(&mut dyn Rng) -> Option<Vec<f64>>,
) -> Tensor {
    let mut out = Vec::with_capacity(n * d);
    while out.len() < n * d {
        if let Some(s) = propose(rng) {
            out.extend(s);
        }
    }
    Tensor::from_vec(out, &[n, d])
}

/// Two moons: θ ~ U(−1, 1)², `x = (r cos a + 0.25 − |θ₁+θ₂|/√2, r sin a + (θ₂−θ₁)/√2)` with
/// `a ~ U(−π/2, π/2)`, `r ~ N(0.1, 0.01²)`. The exact posterior: draw (a, r), a sign s, and
/// solve for θ (the map θ → mean has |det| = 1 on each branch), keeping θ inside the prior.
#[derive(Clone, Copy, Debug, Default)]
pub struct TwoMoons;

impl SbiTask for TwoMoons {
    fn theta_dim(&self) -> usize {
        2
    }
    fn x_dim(&self) -> usize {
        2
    }
    fn sample_prior(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        uniform_box(n, 2, 1.0, rng)
    }
    fn simulate(&self, theta: &Tensor, rng: &mut dyn Rng) -> Tensor {
        let t = theta.to_vec_f64();
        let v = t
            .chunks(2)
            .flat_map(|p| {
                let a = PI * (rng.random::<f64>() - 0.5);
                let r = 0.1 + 0.01 * normal(rng);
                [
                    r * a.cos() + 0.25 - (p[0] + p[1]).abs() * FRAC_1_SQRT_2,
                    r * a.sin() + (p[1] - p[0]) * FRAC_1_SQRT_2,
                ]
            })
            .collect();
        Tensor::from_vec(v, &[theta.dim(0), 2])
    }
    fn sample_posterior(&self, x: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Tensor> {
        Some(rejection(n, 2, rng, |rng| {
            let a = PI * (rng.random::<f64>() - 0.5);
            let r = 0.1 + 0.01 * normal(rng);
            // mean m = x − (0.25, 0) − u:  m₁ = −|θ₁+θ₂|/√2,  m₂ = (θ₂−θ₁)/√2.
            let (m1, m2) = (x[0] - 0.25 - r * a.cos(), x[1] - r * a.sin());
            if m1 > 0.0 {
                return None;
            }
            let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let (sum, diff) = (-s * m1 * 2f64.sqrt(), m2 * 2f64.sqrt());
            let th = [(sum - diff) / 2.0, (sum + diff) / 2.0];
            th.iter().all(|t| t.abs() < 1.0).then(|| th.to_vec())
        }))
    }
}

/// Gaussian linear (10-D): θ ~ N(0, 0.1 I), x | θ ~ N(θ, 0.1 I); posterior
/// N(x/2, 0.05 I).
#[derive(Clone, Copy, Debug, Default)]
pub struct GaussianLinear;

impl SbiTask for GaussianLinear {
    fn theta_dim(&self) -> usize {
        10
    }
    fn x_dim(&self) -> usize {
        10
    }
    fn sample_prior(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        Tensor::from_vec(
            (0..n * 10).map(|_| 0.1f64.sqrt() * normal(rng)).collect(),
            &[n, 10],
        )
    }
    fn simulate(&self, theta: &Tensor, rng: &mut dyn Rng) -> Tensor {
        let v = theta
            .to_vec_f64()
            .iter()
            .map(|t| t + 0.1f64.sqrt() * normal(rng))
            .collect();
        Tensor::from_vec(v, theta.shape())
    }
    fn sample_posterior(&self, x: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Tensor> {
        let v = (0..n * 10)
            .map(|k| x[k % 10] / 2.0 + 0.05f64.sqrt() * normal(rng))
            .collect();
        Some(Tensor::from_vec(v, &[n, 10]))
    }
}

/// Gaussian mixture (2-D): θ ~ U(−10, 10)², x | θ ~ ½ N(θ, I) + ½ N(θ, 0.01 I). The exact
/// posterior is the same mixture centred at x, truncated to the prior box (rejection).
#[derive(Clone, Copy, Debug, Default)]
pub struct GaussianMixture;

impl SbiTask for GaussianMixture {
    fn theta_dim(&self) -> usize {
        2
    }
    fn x_dim(&self) -> usize {
        2
    }
    fn sample_prior(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        uniform_box(n, 2, 10.0, rng)
    }
    fn simulate(&self, theta: &Tensor, rng: &mut dyn Rng) -> Tensor {
        let t = theta.to_vec_f64();
        let v = t
            .chunks(2)
            .flat_map(|p| {
                let s = if rng.random::<bool>() { 1.0 } else { 0.1 };
                [p[0] + s * normal(rng), p[1] + s * normal(rng)]
            })
            .collect();
        Tensor::from_vec(v, &[theta.dim(0), 2])
    }
    fn sample_posterior(&self, x: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Tensor> {
        Some(rejection(n, 2, rng, |rng| {
            let s = if rng.random::<bool>() { 1.0 } else { 0.1 };
            let th = [x[0] + s * normal(rng), x[1] + s * normal(rng)];
            th.iter().all(|t| t.abs() < 10.0).then(|| th.to_vec())
        }))
    }
}

/// SLCP: θ ~ U(−3, 3)⁵; x = four i.i.d. 2-D Gaussian draws with mean (θ₁, θ₂), scales
/// s₁ = θ₃², s₂ = θ₄², correlation tanh(θ₅) (8-D). There is no closed-form posterior sampler;
/// as in sbibm, the reference posterior is MCMC on the exact [`Slcp::log_likelihood`]
/// ([`Slcp::sample_posterior_mcmc`], default [`super::SlcpMcmcConfig`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Slcp;

impl Slcp {
    /// `log p(x | θ)` for one θ (5) and x (8).
    pub fn log_likelihood(theta: &[f64], x: &[f64]) -> f64 {
        let (s1, s2, rho) = (theta[2] * theta[2], theta[3] * theta[3], theta[4].tanh());
        let det = s1 * s1 * s2 * s2 * (1.0 - rho * rho);
        (0..4)
            .map(|k| {
                let (d1, d2) = ((x[2 * k] - theta[0]) / s1, (x[2 * k + 1] - theta[1]) / s2);
                -(d1 * d1 - 2.0 * rho * d1 * d2 + d2 * d2) / (2.0 * (1.0 - rho * rho))
                    - (2.0 * PI).ln()
                    - 0.5 * det.ln()
            })
            .sum()
    }
}

impl SbiTask for Slcp {
    fn theta_dim(&self) -> usize {
        5
    }
    fn x_dim(&self) -> usize {
        8
    }
    fn sample_prior(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        uniform_box(n, 5, 3.0, rng)
    }
    fn simulate(&self, theta: &Tensor, rng: &mut dyn Rng) -> Tensor {
        let t = theta.to_vec_f64();
        let v = t
            .chunks(5)
            .flat_map(|p| {
                let (s1, s2, rho) = (p[2] * p[2], p[3] * p[3], p[4].tanh());
                (0..4)
                    .flat_map(|_| {
                        let (e1, e2) = (normal(rng), normal(rng));
                        [
                            p[0] + s1 * e1,
                            p[1] + s2 * (rho * e1 + (1.0 - rho * rho).sqrt() * e2),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Tensor::from_vec(v, &[theta.dim(0), 8])
    }
    fn sample_posterior(&self, x: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Tensor> {
        let cfg = super::SlcpMcmcConfig::default();
        Some(Slcp::sample_posterior_mcmc(x, n, &cfg, rng).samples)
    }
}
