//! Training: one optimiser loop ([`optimize`]) and one loss function per objective, so that
//! TRADE and every baseline run on the same budget (steps, batch, learning rate, clipping).
//!
//! - [`trade_step`]: boundary NLL at `c₀` (or reverse KL at `c₀`, data-free) plus the ramped
//!   TRADE residual on the grid variant (arXiv 2410.19492 §3; `trade.md` §1.8);
//! - [`reverse_kl_step`]: the reverse-KL-across-c baseline, `c` log-uniform on the interval;
//! - [`nll_step`]: NLL at `c₀` only (with a latent `N(0, cI)` this is the "NLL + latent
//!   temperature scaling" baseline when the flow is unconditional).
//!
//! Every objective runs on the workspace's training engine `flow_core::train` through
//! [`optimize`] (per-step RNG streams, Adam with a cosine schedule, gradient clipping, stop on
//! non-finite values keeping the last good parameters).

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::nn::Param;
use flow_core::optim::Schedule;
use flow_core::train::{StepLoss, StepRng, TrainConfig, Trainer};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::adaptive::{AdaptiveConfig, AdaptiveRule, AdaptiveWeights};
use crate::continuous::{Widening, continuous_residual};
use crate::error::TradeError;
use crate::family::{Family, c_vec};
pub use crate::fit::{fit_nll, fit_reverse_kl, fit_trade};
use crate::flow::ParamFlow;
use crate::grid::ExpectationGrid;
use crate::loss::{nll_boundary, residual_target, residual_terms, reverse_kl_at};

/// Optimiser settings shared by every objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopConfig {
    /// Optimiser steps.
    pub steps: u64,
    /// Adam's base learning rate (cosine decay to 0).
    pub learning_rate: f64,
    /// Global gradient-norm clip.
    pub clip: f64,
    /// Seed of the per-step RNG streams.
    pub seed: u64,
}

/// The report of a training run: the engine's curves (loss, gradient norm, and for TRADE the
/// terms `boundary`, `residual` and `lambda`).
pub type Curves = flow_core::train::Curves;

/// Runs `config.steps` steps of `flow_core::train` (Adam, cosine decay to 0, gradient
/// clipping, per-step RNG streams) on `params` with the loss `loss(step, rng)`.
///
/// # Errors
/// An error `loss` returns (e.g. a non-finite SNIS weight, with its `c` and step): training
/// stops there and the model keeps the parameters from before that step;
/// [`TradeError::Train`] when the engine stops on a non-finite loss or gradient.
pub fn optimize(
    params: &[Param],
    config: &LoopConfig,
    mut loss: impl FnMut(u64, &mut StepRng) -> Result<StepLoss, TradeError>,
) -> Result<Curves, TradeError> {
    let mut trainer = Trainer::new(params.to_vec(), train_config(config));
    let mut failure: Option<TradeError> = None;
    let result = trainer.fit(|step, rng| match loss(step, rng) {
        Ok(l) => l,
        Err(e) => {
            failure = Some(e);
            nan_loss(params)
        }
    });
    match (result, failure) {
        (_, Some(e)) => Err(e),
        (Ok(report), None) => Ok(report.curves),
        (Err(e), None) => Err(TradeError::Train(e)),
    }
}

/// The engine's config for `config`: Adam, cosine decay to 0, gradient clipping, seed.
pub(crate) fn train_config(config: &LoopConfig) -> TrainConfig {
    TrainConfig::new(config.steps, config.learning_rate)
        .with_schedule(Schedule::Cosine {
            total_steps: config.steps,
            final_factor: 0.0,
        })
        .with_clip_grad_norm(config.clip)
        .with_seed(config.seed)
}

/// A NaN loss on the graph of `params`: the engine then stops without applying the step.
pub(crate) fn nan_loss(params: &[Param]) -> StepLoss {
    let a = params.first().expect("optimize: no parameters").get();
    StepLoss::new(a.sum_all().mul_scalar(f64::NAN))
}

/// A random minibatch of `n` rows of `data`.
pub fn minibatch<R: Rng + ?Sized>(data: &Tensor, n: usize, rng: &mut R) -> Tensor {
    let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..data.dim(0))).collect();
    data.index_select(0, &idx)
}

/// How the boundary `q_θ(·|c₀) = p(·|c₀)` is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Boundary {
    /// NLL on data at `c₀`.
    Nll,
    /// Reverse KL at `c₀` (data-free).
    ReverseKl,
}

/// Settings of the grid variant of TRADE (defaults follow `trade.md` §3.6 scaled down).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TradeConfig {
    /// Boundary term.
    pub boundary: Boundary,
    /// Boundary batch (data or flow samples).
    pub batch: usize,
    /// Residual evaluation points per step.
    pub residual_batch: usize,
    /// Final weight of the residual term.
    pub pde_weight: f64,
    /// Fraction of the run before the residual term starts; it then ramps up (cosine) until
    /// `pde_full`.
    pub pde_start: f64,
    /// Fraction of the run at which the residual term reaches `pde_weight`.
    pub pde_full: f64,
    /// Log-spaced grid points (c₀ is added).
    pub grid_points: usize,
    /// SNIS samples per grid point per refresh.
    pub snis_samples: usize,
    /// Refresh the E_c[A] table every this many steps (after the start).
    pub refresh_every: u64,
    /// EMA factor of the table, `EX ← α EX + (1 − α) new`.
    pub alpha_ex: f64,
    /// EMA factor of the per-point residual losses.
    pub alpha_loss: f64,
    /// Causality strength ε (0: uniform grid sampling).
    pub epsilon: f64,
    /// Huber threshold δ.
    pub huber_delta: f64,
    /// How `c` is sampled: the cached grid (default) or fresh SNIS on a widening interval.
    #[serde(default)]
    pub sampler: Sampler,
    /// Adaptive weighting of the residual against the boundary (`None`: fixed weight).
    #[serde(default)]
    pub adaptive: Option<AdaptiveConfig>,
    /// Grid variant: a fresh SNIS estimate with fewer effective samples (`N · ESS`) than this
    /// leaves its table entry unchanged ([`ExpectationGrid::with_min_effective`]; 0: off).
    #[serde(default)]
    pub min_effective_samples: f64,
}

/// How TRADE samples the parameter and estimates `E_c[A]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Sampler {
    /// Log-spaced grid with an EMA-refreshed `E_c[A]` table and causality weights.
    #[default]
    Grid,
    /// Fresh SNIS at a few `c` per step on a widening interval ([`crate::continuous`]).
    Continuous(Widening),
}

impl TradeConfig {
    /// The residual weight at `step` of `steps`: 0 before `pde_start`, cosine ramp to
    /// `pde_weight` at `pde_full`.
    pub fn pde_lambda(&self, step: u64, steps: u64) -> f64 {
        let t = step as f64 / steps.max(1) as f64;
        if t < self.pde_start {
            0.0
        } else if t >= self.pde_full {
            self.pde_weight
        } else {
            let u = (t - self.pde_start) / (self.pde_full - self.pde_start);
            self.pde_weight * 0.5 * (1.0 - (std::f64::consts::PI * u).cos())
        }
    }

    /// Checks ranges.
    ///
    /// # Errors
    /// [`TradeError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), TradeError> {
        let bad = |m: &str| Err(TradeError::Config(m.to_string()));
        if !(0.0..=1.0).contains(&self.alpha_ex) || !(0.0..=1.0).contains(&self.alpha_loss) {
            return bad("alpha_ex and alpha_loss must lie in [0, 1]");
        }
        if !(self.pde_start <= self.pde_full && self.pde_full <= 1.0 && self.pde_start >= 0.0) {
            return bad("need 0 ≤ pde_start ≤ pde_full ≤ 1");
        }
        if self.huber_delta <= 0.0 || self.grid_points < 2 || self.snis_samples == 0 {
            return bad("need huber_delta > 0, grid_points ≥ 2, snis_samples ≥ 1");
        }
        if self.batch == 0 || self.residual_batch == 0 || self.refresh_every == 0 {
            return bad("batch sizes and refresh_every must be positive");
        }
        if !(self.min_effective_samples.is_finite() && self.min_effective_samples >= 0.0) {
            return bad("min_effective_samples must be finite and ≥ 0");
        }
        Ok(())
    }
}

/// Mutable state of a TRADE run: the grid with its table and loss averages.
#[derive(Clone, Debug)]
pub struct TradeState {
    /// The grid.
    pub grid: ExpectationGrid,
    /// The adaptive weights (updated only with [`TradeConfig::adaptive`]).
    pub weights: AdaptiveWeights,
}

impl TradeState {
    /// The grid over the family's interval.
    pub fn new(family: &Family, config: &TradeConfig) -> TradeState {
        let (lo, hi) = family.range();
        TradeState {
            grid: ExpectationGrid::new(lo, hi, config.grid_points, family.c0())
                .with_min_effective(config.min_effective_samples),
            weights: AdaptiveWeights::default(),
        }
    }
}

/// The boundary term of one step.
fn boundary_loss(
    model: &ParamFlow,
    family: &Family,
    data: Option<&Tensor>,
    boundary: Boundary,
    batch: usize,
    rng: &mut StepRng,
) -> Tensor {
    match (boundary, data) {
        (Boundary::Nll, Some(d)) => nll_boundary(model, &minibatch(d, batch, rng), family.c0()),
        (Boundary::Nll, None) => panic!("trade_step: the NLL boundary needs data at c0"),
        (Boundary::ReverseKl, _) => {
            let probe = Tensor::zeros(&[1], model.dtype());
            reverse_kl_at(model, family, &c_vec(family.c0(), batch, &probe), rng)
        }
    }
}

/// One TRADE loss: `boundary + λ(step) · mean ρ(∂_c log q − (Ê_c[A] − A))` on grid points
/// drawn with causality weights, evaluation points `x ~ q_θ(·|c)` (detached).
///
/// # Errors
/// A non-finite energy or SNIS weight on a table refresh ([`TradeError::NonFinite`] with `c`).
#[allow(clippy::too_many_arguments)]
pub fn trade_step(
    model: &ParamFlow,
    family: &Family,
    data: Option<&Tensor>,
    config: &TradeConfig,
    state: &mut TradeState,
    step: u64,
    steps: u64,
    rng: &mut StepRng,
) -> Result<StepLoss, TradeError> {
    let b = boundary_loss(model, family, data, config.boundary, config.batch, rng);
    let lambda = config.pde_lambda(step, steps);
    if lambda == 0.0 {
        let bv = b.item();
        return Ok(StepLoss::new(b).with_term("boundary", bv));
    }
    if let Sampler::Continuous(w) = &config.sampler {
        let t0 = (config.pde_start * steps as f64).ceil();
        let progress = (step as f64 - t0) / (steps as f64 - t0).max(1.0);
        let cs = w.draw(family.c0(), family.range(), progress, rng);
        let points = config.residual_batch.div_ceil(cs.len());
        let r = continuous_residual(
            model,
            family,
            &cs,
            points,
            config.snis_samples,
            config.huber_delta,
            step,
            rng,
        )?;
        let lambda = adapt(model, config, state, &b, &r, lambda, step);
        return Ok(finish(b, r, lambda));
    }
    let grid = &mut state.grid;
    let since = step - (config.pde_start * steps as f64).ceil() as u64;
    if grid.table().is_none() || since.is_multiple_of(config.refresh_every) {
        grid.refresh(
            model,
            family,
            config.snis_samples,
            config.alpha_ex,
            step,
            rng,
        )?;
    }
    let idx = grid.sample_indices(config.residual_batch, config.epsilon, rng);
    let table = grid.table().expect("table filled above");
    let probe = Tensor::zeros(&[1], model.dtype());
    let cs: Vec<f64> = idx.iter().map(|&i| grid.cs()[i]).collect();
    let exs: Vec<f64> = idx.iter().map(|&i| table[i]).collect();
    let n = idx.len();
    let c = Tensor::from_vec(cs, &[n]).to_dtype(probe.dtype());
    let ex = Tensor::from_vec(exs, &[n]).to_dtype(probe.dtype());
    let (x, _) = model.sample_detached(&c, rng);
    let target = residual_target(family, &x, &c, &ex);
    if target.to_vec_f64().iter().any(|v| !v.is_finite()) {
        let at = idx[0];
        return Err(TradeError::NonFinite {
            what: "residual target",
            c: grid.cs()[at],
            step,
        });
    }
    let terms = residual_terms(model, &x, &c, &target, config.huber_delta);
    grid.update_losses(&idx, &terms.detach().to_vec_f64(), config.alpha_loss);
    let r = terms.mean_all();
    let lambda = adapt(model, config, state, &b, &r, lambda, step);
    Ok(finish(b, r, lambda))
}

/// The residual weight after the adaptive update (if configured): `λ(step) · λ_r/λ_b`, with
/// the two gradient norms measured every `every` steps.
fn adapt(
    model: &ParamFlow,
    config: &TradeConfig,
    state: &mut TradeState,
    b: &Tensor,
    r: &Tensor,
    lambda: f64,
    step: u64,
) -> f64 {
    let Some(a) = &config.adaptive else {
        return lambda;
    };
    if step.is_multiple_of(a.every.max(1)) {
        let vals: Vec<Tensor> = model.parameters().iter().map(|p| p.get()).collect();
        let refs: Vec<&Tensor> = vals.iter().collect();
        let norm = |t: &Tensor| crate::adaptive::grad_norm(t, &refs);
        match a.rule {
            AdaptiveRule::Pinn => state.weights.update(norm(b), norm(r), a.alpha),
            AdaptiveRule::Lightning => {
                let count = vals.iter().map(Tensor::len).sum();
                state
                    .weights
                    .update_lightning(norm(b), norm(r), count, a.alpha);
            }
        }
    }
    lambda * state.weights.ratio()
}

/// `boundary + λ · residual` with its terms recorded.
fn finish(b: Tensor, r: Tensor, lambda: f64) -> StepLoss {
    let (bv, rv) = (b.item(), r.item());
    StepLoss::new(b.add(&r.mul_scalar(lambda)))
        .with_term("boundary", bv)
        .with_term("residual", rv)
        .with_term("lambda", lambda)
}

/// The reverse-KL-across-c baseline: `mean[log q_θ(x|c) + E(x, c)]`, `x ~ q_θ(·|c)`, with
/// one `c` per sample drawn log-uniformly on the family's interval.
pub fn reverse_kl_step(
    model: &ParamFlow,
    family: &Family,
    batch: usize,
    rng: &mut StepRng,
) -> Tensor {
    let (lo, hi) = family.range();
    let cs: Vec<f64> = (0..batch)
        .map(|_| (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp())
        .collect();
    let c = Tensor::from_vec(cs, &[batch]).to_dtype(model.dtype());
    reverse_kl_at(model, family, &c, rng)
}

/// NLL at `c₀` only (a minibatch of `data`).
pub fn nll_step(
    model: &ParamFlow,
    data: &Tensor,
    c0: f64,
    batch: usize,
    rng: &mut StepRng,
) -> Tensor {
    nll_boundary(model, &minibatch(data, batch, rng), c0)
}
