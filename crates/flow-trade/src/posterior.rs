//! Tempered amortised posteriors (`trade.md` §3.3): one flow `q_θ(ϑ | x, β)` over the
//! parameters ϑ of a simulator, conditioned on the observation `x` and on the likelihood power
//! β, for the family `p_β(ϑ | x) ∝ p(x | ϑ)^β π(ϑ)`. Each coupling subnet sees
//! `[log β, x]`; the latent is `N(0, I)`.
//!
//! **Energy-free TRADE** (the paper's two-moons setting, `check_consistency_with: self`): the
//! likelihood is not used. The model at the reference β₀ = 1, trained by NLL on simulated
//! pairs `(ϑ, x)`, gives `log p(x|ϑ) = log q_θ(ϑ | x, 1) − log π(ϑ) + k(x)`, so with
//! `E(ϑ; β) = −β log p(x|ϑ) − log π(ϑ)`,
//!
//! `A(ϑ) = ∂_β E = −(log q_θ(ϑ | x, 1) − log π(ϑ))` (+ a constant that cancels in `E[A] − A`).
//!
//! This is the mathematically correct A; the official code's `TwoMoonsEnergy.derivative`
//! uses the model energy at the current β, which is β times too large (`trade.md` §5 (c)).
//! `E_β[A]` per observation is the SNIS mean over `M` flow samples at `(x, β)` with
//! `log w = β(log q₁ − log π) + log π − log q_β`, and the residual
//! `∂_β log q_θ(ϑ | x, β) − (Ê[A] − A(ϑ))` is taken on the same (detached) samples, with
//! `∂_β` by forward mode in β.

use std::f64::consts::PI;

use flow_core::nn::{Activation, Module, Param};
use flow_core::{DType, Tensor, make_dual, no_grad};
use flow_coupling::bijections::SplineConfig;
use flow_coupling::{Bijection, ConditionConfig, Flow, Normalization, NsfConfig, RealNvpConfig};

use crate::flow::Architecture;
use rand::Rng;

/// A coupling flow over ϑ (`dim`) conditioned on `[log β, x]` (`x_dim`), latent `N(0, I)`.
pub struct PosteriorFlow {
    flow: Flow,
    dim: usize,
    x_dim: usize,
}

impl PosteriorFlow {
    /// Couplings of `architecture` (affine or rational-quadratic spline; SiLU subnets
    /// `hidden`), first-layer weights on ϑ at the unconditional scale ([`crate::init`]).
    ///
    /// # Panics
    /// For the volume-preserving architecture (never conditional).
    pub fn new<R: Rng + ?Sized>(
        dim: usize,
        x_dim: usize,
        blocks: usize,
        hidden: &[usize],
        architecture: &Architecture,
        rng: &mut R,
    ) -> PosteriorFlow {
        let cond = ConditionConfig::new(1 + x_dim);
        let flow = match *architecture {
            Architecture::Affine { clamp } => RealNvpConfig::new(dim)
                .with_blocks(blocks)
                .with_hidden(hidden)
                .with_activation(Activation::Silu)
                .with_normalization(Normalization::None)
                .with_clamp(clamp)
                .with_condition(cond)
                .build(DType::F64, rng),
            Architecture::Spline { bins, bound } => NsfConfig::new(dim)
                .with_blocks(blocks)
                .with_hidden(hidden)
                .with_activation(Activation::Silu)
                .with_normalization(Normalization::None)
                .with_mixing(flow_coupling::Mixing::Alternate)
                .with_spline(SplineConfig::new(bins, bound))
                .with_condition(cond)
                .build(DType::F64, rng),
            Architecture::VolumePreserving { .. } => {
                panic!("PosteriorFlow: the volume-preserving flow is never conditional")
            }
        };
        crate::init::match_unconditional_init(&flow, 1 + x_dim);
        PosteriorFlow { flow, dim, x_dim }
    }

    fn condition(&self, beta: &Tensor, x: &Tensor) -> Tensor {
        let n = x.dim(0);
        assert!(
            beta.shape() == [n] && x.shape() == [n, self.x_dim],
            "PosteriorFlow: β {:?} and x {:?} for {n} rows",
            beta.shape(),
            x.shape()
        );
        Tensor::concat(&[&beta.log().unsqueeze(1), x], 1)
    }

    /// `log q_θ(ϑ | x, β)` per row: `ϑ: [n, dim]`, `β: [n]`, `x: [n, x_dim]`.
    pub fn log_prob(&self, theta: &Tensor, beta: &Tensor, x: &Tensor) -> Tensor {
        let (z, ladj) = self
            .flow
            .forward_and_ladj(theta, Some(&self.condition(beta, x)));
        std_normal_log_prob(&z).add(&ladj)
    }

    /// `(log q, ∂_β log q)` per row by forward mode in β (both differentiable in θ).
    pub fn log_prob_and_dbeta(
        &self,
        theta: &Tensor,
        beta: &Tensor,
        x: &Tensor,
    ) -> (Tensor, Tensor) {
        let b = make_dual(&beta.detach(), &beta.ones_like());
        let lp = self.log_prob(&theta.detach(), &b, &x.detach());
        let d = lp.tangent().unwrap_or_else(|| lp.zeros_like());
        (lp.primal(), d)
    }

    /// One detached draw per row and its detached log-density.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        beta: &Tensor,
        x: &Tensor,
        rng: &mut R,
    ) -> (Tensor, Tensor) {
        no_grad(|| {
            let z = Tensor::randn(&[x.dim(0), self.dim], DType::F64, rng);
            let (th, ladj) = self
                .flow
                .inverse_and_ladj(&z, Some(&self.condition(&beta.detach(), &x.detach())));
            (th.detach(), std_normal_log_prob(&z).sub(&ladj).detach())
        })
    }
}

impl Module for PosteriorFlow {
    fn parameters(&self) -> Vec<Param> {
        self.flow.parameters()
    }
}

fn std_normal_log_prob(z: &Tensor) -> Tensor {
    let d = z.dim(1) as f64;
    z.square()
        .sum_axis(1, false)
        .mul_scalar(-0.5)
        .add_scalar(-0.5 * d * (2.0 * PI).ln())
}

/// The energy-free TRADE residual terms `ρ_δ(∂_β log q − (Ê[A] − A))` for `obs` observations
/// `x: [obs, x_dim]` at one β, `m` flow samples each (see the module docs); `log_prior` maps
/// `ϑ: [n, dim]` to `log π(ϑ)`. Returns `[obs·m]` differentiable terms.
///
/// # Errors
/// [`crate::TradeError::NonFinite`] if a SNIS weight or A is not finite.
#[allow(clippy::too_many_arguments)]
pub fn energy_free_residual<R: Rng + ?Sized>(
    model: &PosteriorFlow,
    x: &Tensor,
    beta: f64,
    m: usize,
    log_prior: &dyn Fn(&Tensor) -> Tensor,
    delta: f64,
    step: u64,
    rng: &mut R,
) -> Result<Tensor, crate::TradeError> {
    let obs = x.dim(0);
    let rows: Vec<usize> = (0..obs).flat_map(|i| std::iter::repeat_n(i, m)).collect();
    let xr = x.index_select(0, &rows);
    let n = rows.len();
    let b = Tensor::from_vec(vec![beta; n], &[n]);
    let (th, lq_b) = model.sample(&b, &xr, rng);
    let (lq1, lp) = no_grad(|| {
        let one = Tensor::from_vec(vec![1.0; n], &[n]);
        (
            model.log_prob(&th, &one, &xr).to_vec_f64(),
            log_prior(&th).to_vec_f64(),
        )
    });
    let lq_b = lq_b.to_vec_f64();
    let a: Vec<f64> = lq1.iter().zip(&lp).map(|(q, p)| p - q).collect();
    let lw: Vec<f64> = (0..n)
        .map(|i| beta * (lq1[i] - lp[i]) + lp[i] - lq_b[i])
        .collect();
    let mut target = Vec::with_capacity(n);
    for k in 0..obs {
        let r = k * m..(k + 1) * m;
        let ex = crate::snis::snis_from_weights(&lw[r.clone()], &a[r.clone()], beta, step)?.value;
        target.extend(a[r].iter().map(|ai| ex - ai));
    }
    let target = Tensor::from_vec(target, &[n]);
    let (_, g) = model.log_prob_and_dbeta(&th, &b, &xr);
    Ok(crate::loss::huber(&g.sub(&target), delta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    /// `∂_β log q` by forward mode equals a central difference in β (β enters through the
    /// condition next to x), and sampling returns the density of its draws.
    #[test]
    fn dbeta_matches_central_difference_and_samples_carry_their_density() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let model = PosteriorFlow::new(
            2,
            2,
            3,
            &[16],
            &Architecture::Spline {
                bins: 4,
                bound: 3.0,
            },
            &mut rng,
        );
        for p in model.parameters() {
            let v = p.get();
            p.set(v.add(&Tensor::randn(v.shape(), DType::F64, &mut rng).mul_scalar(0.3)));
        }
        let n = 8;
        let th = Tensor::randn(&[n, 2], DType::F64, &mut rng);
        let x = Tensor::randn(&[n, 2], DType::F64, &mut rng);
        let bv: Vec<f64> = (0..n).map(|i| 0.5 + 0.2 * i as f64).collect();
        let b = Tensor::from_vec(bv.clone(), &[n]);
        let g = model.log_prob_and_dbeta(&th, &b, &x).1.to_vec_f64();
        let h = 1e-5;
        let at = |s: f64| {
            let bs = Tensor::from_vec(bv.iter().map(|v| v + s).collect(), &[n]);
            no_grad(|| model.log_prob(&th, &bs, &x).to_vec_f64())
        };
        let (up, dn) = (at(h), at(-h));
        for i in 0..n {
            let fd = (up[i] - dn[i]) / (2.0 * h);
            assert!(
                (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{} vs {fd}",
                g[i]
            );
        }
        let (s, lq) = model.sample(&b, &x, &mut rng);
        let again = no_grad(|| model.log_prob(&s, &b, &x).to_vec_f64());
        for (a, b) in lq.to_vec_f64().iter().zip(&again) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}
