//! Training: one optimiser loop ([`optimize`]) and one loss function per objective, so that
//! TRADE and every baseline run on the same budget (steps, batch, learning rate, clipping).
//!
//! - [`trade_step`]: boundary NLL at `c₀` (or reverse KL at `c₀`, data-free) plus the ramped
//!   TRADE residual on the grid variant (arXiv 2410.19492 §3; `trade.md` §1.8);
//! - [`reverse_kl_step`]: the reverse-KL-across-c baseline, `c` log-uniform on the interval;
//! - [`nll_step`]: NLL at `c₀` only (with a latent `N(0, cI)` this is the "NLL + latent
//!   temperature scaling" baseline when the flow is unconditional).
//!
//! The loop mirrors the planned `flow_core::train` engine (per-step RNG streams, Adam with a
//! cosine schedule, gradient clipping, stop on non-finite values keeping the last good
//! parameters); switching to the engine changes only [`optimize`].

use flow_core::nn::Module;
use flow_core::nn::{Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, Schedule, clip_grad_norm};
use flow_core::{Tensor, grad};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::TradeError;
use crate::family::{Family, c_vec};
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

/// The RNG stream of step `s` of a run seeded `seed`.
pub fn step_rng(seed: u64, step: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Runs `steps` Adam steps on `params` with the loss `loss(step, rng)`; returns the loss curve.
///
/// # Errors
/// [`TradeError::NonFiniteStep`] at the first non-finite loss or gradient norm (that step is
/// not applied); any error `loss` returns (e.g. a non-finite SNIS weight with its `c`).
pub fn optimize(
    params: &[Param],
    config: &LoopConfig,
    mut loss: impl FnMut(u64, &mut Xoshiro256PlusPlus) -> Result<Tensor, TradeError>,
) -> Result<Vec<f64>, TradeError> {
    let mut adam = Adam::new(AdamConfig::new(config.learning_rate));
    let schedule = Schedule::Cosine {
        total_steps: config.steps,
        final_factor: 0.0,
    };
    let mut curve = Vec::with_capacity(config.steps as usize);
    for step in 0..config.steps {
        let mut rng = step_rng(config.seed, step);
        adam.set_learning_rate(schedule.learning_rate(config.learning_rate, step));
        let l = loss(step, &mut rng)?;
        let value = l.item();
        if !value.is_finite() {
            return Err(TradeError::NonFiniteStep { what: "loss", step });
        }
        let vals = values(params);
        let grads = grad(&l, &vals.iter().collect::<Vec<_>>());
        let (grads, norm) = clip_grad_norm(&grads, config.clip);
        if !norm.is_finite() {
            return Err(TradeError::NonFiniteStep {
                what: "gradient norm",
                step,
            });
        }
        adam.step(params, &grads);
        curve.push(value);
    }
    Ok(curve)
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
        Ok(())
    }
}

/// Mutable state of a TRADE run: the grid with its table and loss averages.
pub struct TradeState {
    /// The grid.
    pub grid: ExpectationGrid,
}

impl TradeState {
    /// The grid over the family's interval.
    pub fn new(family: &Family, config: &TradeConfig) -> TradeState {
        let (lo, hi) = family.range();
        TradeState {
            grid: ExpectationGrid::new(lo, hi, config.grid_points, family.c0()),
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
    rng: &mut Xoshiro256PlusPlus,
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
    rng: &mut Xoshiro256PlusPlus,
) -> Result<Tensor, TradeError> {
    let b = boundary_loss(model, family, data, config.boundary, config.batch, rng);
    let lambda = config.pde_lambda(step, steps);
    if lambda == 0.0 {
        return Ok(b);
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
    Ok(b.add(&terms.mean_all().mul_scalar(lambda)))
}

/// The reverse-KL-across-c baseline: `mean[log q_θ(x|c) + E(x, c)]`, `x ~ q_θ(·|c)`, with
/// one `c` per sample drawn log-uniformly on the family's interval.
pub fn reverse_kl_step(
    model: &ParamFlow,
    family: &Family,
    batch: usize,
    rng: &mut Xoshiro256PlusPlus,
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
    rng: &mut Xoshiro256PlusPlus,
) -> Tensor {
    nll_boundary(model, &minibatch(data, batch, rng), c0)
}

/// Trains `model` with TRADE (grid variant); returns the loss curve and the final state
/// (its grid holds the `E_c[A]` table for the free-energy curve).
///
/// # Errors
/// [`TradeError::Config`] for a bad configuration; otherwise as [`optimize`].
pub fn fit_trade(
    model: &ParamFlow,
    family: &Family,
    data: Option<&Tensor>,
    loop_cfg: &LoopConfig,
    config: &TradeConfig,
) -> Result<(Vec<f64>, TradeState), TradeError> {
    config.validate()?;
    if config.boundary == Boundary::Nll && data.is_none() {
        return Err(TradeError::Config(
            "the NLL boundary needs data at c0".into(),
        ));
    }
    let mut state = TradeState::new(family, config);
    let steps = loop_cfg.steps;
    let curve = optimize(&model.parameters(), loop_cfg, |step, rng| {
        trade_step(model, family, data, config, &mut state, step, steps, rng)
    })?;
    Ok((curve, state))
}

/// Trains `model` by reverse KL across `c` (baseline).
///
/// # Errors
/// As [`optimize`].
pub fn fit_reverse_kl(
    model: &ParamFlow,
    family: &Family,
    batch: usize,
    loop_cfg: &LoopConfig,
) -> Result<Vec<f64>, TradeError> {
    optimize(&model.parameters(), loop_cfg, |_, rng| {
        Ok(reverse_kl_step(model, family, batch, rng))
    })
}

/// Trains `model` by NLL at `c₀` only (baseline; with an unconditional flow and latent
/// `N(0, cI)` this is "NLL + latent temperature scaling").
///
/// # Errors
/// As [`optimize`].
pub fn fit_nll(
    model: &ParamFlow,
    data: &Tensor,
    c0: f64,
    batch: usize,
    loop_cfg: &LoopConfig,
) -> Result<Vec<f64>, TradeError> {
    optimize(&model.parameters(), loop_cfg, |_, rng| {
        Ok(nll_step(model, data, c0, batch, rng))
    })
}
