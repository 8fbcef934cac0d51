//! The baselines of TRADE that need their own loss (arXiv 2410.19492 §5; `trade.md` §3.1,
//! §3.4, §3.6), each trained by [`crate::train::optimize`] on the same budget as TRADE:
//!
//! - [`nll_reverse_kl_step`]: NLL at `c₀` plus a ramped reverse KL across `c`,
//!   `L = −mean log q_θ(x|c₀) + λ(t) · mean_{c, x~q_θ(·|c)}[log q_θ(x|c) + E(x, c)]`;
//! - [`reweight_step`]: NLL at a parameter `c` drawn per batch, on the data at `c₀`
//!   importance-reweighted with the true energies,
//!   `L = −Σ_i ŵ_i log q_θ(x_i|c)`, `ŵ = softmax(−E(x_i, c) + E(x_i, c₀))`
//!   (self-normalised over the batch: the paper's `exp((−E_base + 2)(β − 1))` up to the
//!   constant that the normalisation removes).
//!
//! The other baselines are configurations of [`crate::ParamFlow`] on the existing losses:
//! reverse KL across `c` ([`crate::train::reverse_kl_step`]), NLL with latent temperature
//! scaling (an unconditional flow with latent `N(0, cI)` by [`crate::train::nll_step`]) and the
//! volume-preserving, temperature-steerable flow (GIN couplings, latent `N(0, cI)`, also by
//! NLL at `c₀`: Dibak et al., arXiv 2108.01590).

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::train::{StepLoss, StepRng};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::TradeError;
use crate::family::{Family, c_vec};
use crate::flow::ParamFlow;
use crate::loss::nll_boundary;
use crate::train::{Curves, LoopConfig, minibatch, optimize, reverse_kl_step};

/// Settings of the NLL + reverse-KL baseline: the KL weight ramps (cosine) from 0 at
/// `kl_start` to `kl_weight` at `kl_full` (fractions of the run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NllKlConfig {
    /// Final weight of the reverse-KL term.
    pub kl_weight: f64,
    /// Fraction of the run before the KL term starts.
    pub kl_start: f64,
    /// Fraction of the run at which it reaches `kl_weight`.
    pub kl_full: f64,
}

impl NllKlConfig {
    /// The KL weight at `step` of `steps`.
    pub fn lambda(&self, step: u64, steps: u64) -> f64 {
        let t = step as f64 / steps.max(1) as f64;
        if t < self.kl_start {
            0.0
        } else if t >= self.kl_full {
            self.kl_weight
        } else {
            let u = (t - self.kl_start) / (self.kl_full - self.kl_start);
            self.kl_weight * 0.5 * (1.0 - (std::f64::consts::PI * u).cos())
        }
    }

    /// # Errors
    /// [`TradeError::Config`] unless `kl_weight ≥ 0` and `0 ≤ kl_start ≤ kl_full ≤ 1`.
    pub fn validate(&self) -> Result<(), TradeError> {
        if self.kl_weight >= 0.0
            && 0.0 <= self.kl_start
            && self.kl_start <= self.kl_full
            && self.kl_full <= 1.0
        {
            Ok(())
        } else {
            Err(TradeError::Config(format!(
                "NLL + reverse KL: need kl_weight ≥ 0 and 0 ≤ kl_start ≤ kl_full ≤ 1, got {self:?}"
            )))
        }
    }
}

/// One NLL + reverse-KL loss (see the module docs).
#[allow(clippy::too_many_arguments)]
pub fn nll_reverse_kl_step(
    model: &ParamFlow,
    family: &Family,
    data: &Tensor,
    batch: usize,
    config: &NllKlConfig,
    step: u64,
    steps: u64,
    rng: &mut StepRng,
) -> StepLoss {
    let nll = nll_boundary(model, &minibatch(data, batch, rng), family.c0());
    let lambda = config.lambda(step, steps);
    let nv = nll.item();
    if lambda == 0.0 {
        return StepLoss::new(nll).with_term("nll", nv);
    }
    let kl = reverse_kl_step(model, family, batch, rng);
    let kv = kl.item();
    StepLoss::new(nll.add(&kl.mul_scalar(lambda)))
        .with_term("nll", nv)
        .with_term("reverse_kl", kv)
        .with_term("lambda", lambda)
}

/// One reweighting loss: `c` log-uniform on the family's interval (one per batch), data at
/// `c₀` weighted by `softmax(−E(x, c) + E(x, c₀))`.
///
/// # Errors
/// [`TradeError::NonFinite`] if an energy of the batch is not finite.
pub fn reweight_step(
    model: &ParamFlow,
    family: &Family,
    data: &Tensor,
    batch: usize,
    step: u64,
    rng: &mut StepRng,
) -> Result<StepLoss, TradeError> {
    let (lo, hi) = family.range();
    let c = (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp();
    let x = minibatch(data, batch, rng);
    let w = reweight_weights(family, &x, c, step)?;
    let lq = model.log_prob(&x, &c_vec(c, batch, &x));
    let loss = lq.mul(&w).sum_all().neg();
    Ok(StepLoss::new(loss).with_term("c", c))
}

/// The self-normalised weights `softmax(−E(x, c) + E(x, c₀))`, `[n]`, detached.
///
/// # Errors
/// [`TradeError::NonFinite`] (with `c`) if an energy is not finite.
pub fn reweight_weights(
    family: &Family,
    x: &Tensor,
    c: f64,
    step: u64,
) -> Result<Tensor, TradeError> {
    let n = x.dim(0);
    let e = family.energy(x, &c_vec(c, n, x)).to_vec_f64();
    let e0 = family.energy(x, &c_vec(family.c0(), n, x)).to_vec_f64();
    let lw: Vec<f64> = e.iter().zip(&e0).map(|(e, e0)| e0 - e).collect();
    if lw.iter().any(|v| !v.is_finite()) {
        return Err(TradeError::NonFinite {
            what: "reweighting energy",
            c,
            step,
        });
    }
    let m = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = lw.iter().map(|v| (v - m).exp()).sum();
    let w: Vec<f64> = lw.iter().map(|v| (v - m).exp() / z).collect();
    Ok(Tensor::from_vec(w, &[n]).to_dtype(x.dtype()))
}

/// Trains `model` by NLL + ramped reverse KL (baseline).
///
/// # Errors
/// [`TradeError::Config`] for a bad `config`; otherwise as [`optimize`].
pub fn fit_nll_reverse_kl(
    model: &ParamFlow,
    family: &Family,
    data: &Tensor,
    batch: usize,
    config: &NllKlConfig,
    loop_cfg: &LoopConfig,
) -> Result<Curves, TradeError> {
    config.validate()?;
    let steps = loop_cfg.steps;
    optimize(&model.parameters(), loop_cfg, |step, rng| {
        Ok(nll_reverse_kl_step(
            model, family, data, batch, config, step, steps, rng,
        ))
    })
}

/// Trains `model` by reweighted NLL across `c` (baseline).
///
/// # Errors
/// As [`optimize`].
pub fn fit_reweight(
    model: &ParamFlow,
    family: &Family,
    data: &Tensor,
    batch: usize,
    loop_cfg: &LoopConfig,
) -> Result<Curves, TradeError> {
    optimize(&model.parameters(), loop_cfg, |step, rng| {
        reweight_step(model, family, data, batch, step, rng)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::DType;
    use flow_core::train::step_rng;
    use flow_data::energy::{Gmm6, Tempered};
    use rand::SeedableRng;

    fn family() -> Family {
        Family::new(Box::new(Tempered::temperature(Gmm6)), 1.0, 0.2, 5.0).unwrap()
    }

    /// At `c = c₀` the weights are uniform; at `c ≠ c₀` they are `∝ exp(−u (1/c − 1))`
    /// (an independent closed form of `−E(x, c) + E(x, c₀)` for a tempered family).
    #[test]
    fn reweighting_weights_are_the_tempering_ratio() {
        let fam = family();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        let x = Gmm6::sample(64, &mut rng);
        let w0 = reweight_weights(&fam, &x, 1.0, 0).unwrap().to_vec_f64();
        assert!(w0.iter().all(|w| (w - 1.0 / 64.0).abs() < 1e-15));
        let c = 0.5;
        let w = reweight_weights(&fam, &x, c, 0).unwrap().to_vec_f64();
        let u: Vec<f64> = x
            .to_vec_f64()
            .chunks(2)
            .map(|p| -Gmm6::log_density_f64(p[0], p[1]))
            .collect();
        let lw: Vec<f64> = u.iter().map(|u| -u * (1.0 / c - 1.0)).collect();
        let z: f64 = lw.iter().map(|v| v.exp()).sum();
        for (a, b) in w.iter().zip(&lw) {
            assert!((a - b.exp() / z).abs() < 1e-12);
        }
    }

    /// Before the KL term starts the NLL + reverse-KL loss equals the plain NLL of the same
    /// minibatch; the ramp is 0 at the start and the full weight at the end.
    #[test]
    fn nll_kl_reduces_to_nll_before_the_ramp() {
        let fam = family();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(2);
        let data = Gmm6::sample(256, &mut rng);
        let q = crate::ParamFlowConfig::affine(2, 2, &[8]).build(DType::F64, &mut rng);
        let cfg = NllKlConfig {
            kl_weight: 0.1,
            kl_start: 0.5,
            kl_full: 0.8,
        };
        let a = nll_reverse_kl_step(&q, &fam, &data, 32, &cfg, 10, 100, &mut step_rng(3, 10));
        let b = crate::train::nll_step(&q, &data, 1.0, 32, &mut step_rng(3, 10));
        assert_eq!(a.loss.item(), b.item());
        assert_eq!(cfg.lambda(50, 100), 0.0);
        assert_eq!(cfg.lambda(80, 100), 0.1);
        let late = nll_reverse_kl_step(&q, &fam, &data, 32, &cfg, 90, 100, &mut step_rng(3, 90));
        assert!(late.loss.item().is_finite() && late.terms.len() == 3);
        assert!(
            NllKlConfig {
                kl_start: 0.9,
                kl_full: 0.5,
                ..cfg
            }
            .validate()
            .is_err()
        );
    }
}
