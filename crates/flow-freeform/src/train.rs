//! Training of free-form flows on the workspace's one training loop
//! ([`flow_core::train::Trainer`]): minibatch Adam with schedule and gradient clipping,
//! non-finite steps skipped (the official code skips non-finite batches), atomic resumable
//! checkpoints, optional validation with best-parameter selection, and cancellation.
//!
//! Step `s` draws its minibatch and Hutchinson vectors from its own stream
//! `step_rng(seed, s)`, so a run resumed from a checkpoint is bit-identical to an
//! uninterrupted one.
//!
//! References: FFF arXiv:2310.16624, App. (Adam, one-cycle or constant schedules, grad-norm
//! clipping; EGNN runs resume from the last checkpoint); FIF arXiv:2306.01843, §5.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::optim::{AdamConfig, Schedule};
use flow_core::train::{self, NonFinitePolicy, OptimizerConfig, StepLoss, StepRng};
use rand::RngExt;
use serde::{Deserialize, Serialize};

pub use flow_core::train::{TrainError, TrainReport};

use crate::model::FreeFormFlow;
use crate::surrogate::{FffLossConfig, fff_loss};

/// Optimisation settings of a free-form flow run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimiser steps.
    pub steps: u64,
    /// Samples per step.
    pub batch_size: usize,
    /// Base learning rate of Adam.
    pub learning_rate: f64,
    /// Adam weight decay (0: none).
    pub weight_decay: f64,
    /// Learning-rate schedule over `steps`.
    pub schedule: Schedule,
    /// Gradient-norm clipping threshold (None: off).
    pub clip_grad_norm: Option<f64>,
    /// Write a checkpoint here every `checkpoint_every` steps (atomic; None: in memory only).
    pub checkpoint_path: Option<PathBuf>,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Consecutive non-finite steps after which training stops with an error.
    pub max_consecutive_failures: usize,
    /// Seed of the per-step random streams (minibatches, Hutchinson vectors).
    pub seed: u64,
    /// Validation every this many steps, with early stopping after `patience` validations
    /// without improvement (used by [`Trainer::fit_validated`]).
    pub validation: Option<(u64, Option<usize>)>,
}

impl TrainConfig {
    /// `steps` Adam steps at `learning_rate`, batch `batch_size`, constant schedule, no
    /// clipping, seed 0.
    pub fn new(steps: u64, batch_size: usize, learning_rate: f64) -> Self {
        TrainConfig {
            steps,
            batch_size,
            learning_rate,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            clip_grad_norm: None,
            checkpoint_path: None,
            checkpoint_every: 100,
            max_consecutive_failures: 20,
            seed: 0,
            validation: None,
        }
    }
    /// Sets the schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }
    /// Sets gradient-norm clipping.
    pub fn with_clip(mut self, max_norm: f64) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    /// Writes checkpoints to `path` every `every` steps.
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>, every: u64) -> Self {
        self.checkpoint_path = Some(path.into());
        self.checkpoint_every = every.max(1);
        self
    }
    /// Sets the seed of the per-step random streams.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Validates every `every` steps (and before the first); with `patience`, stops after
    /// that many validations without a new best.
    pub fn with_validation(mut self, every: u64, patience: Option<usize>) -> Self {
        self.validation = Some((every.max(1), patience));
        self
    }

    /// The engine's config for this run.
    pub fn engine(&self) -> train::TrainConfig {
        let adam = AdamConfig::new(self.learning_rate).with_weight_decay(self.weight_decay);
        let mut c = train::TrainConfig::new(self.steps, self.learning_rate)
            .with_optimizer(OptimizerConfig::Adam(adam))
            .with_schedule(self.schedule.clone())
            .with_seed(self.seed)
            .with_non_finite(NonFinitePolicy::Skip {
                max_consecutive: self.max_consecutive_failures,
            });
        c.clip_grad_norm = self.clip_grad_norm;
        if let Some(path) = &self.checkpoint_path {
            c = c.with_checkpoint(path, self.checkpoint_every);
        }
        if let Some((every, patience)) = self.validation {
            c = c.with_validation(every, patience);
        }
        c
    }
}

/// Trains a [`FreeFormFlow`] with the free-form loss. The per-step curves hold the loss and
/// the terms `nll` (surrogate) and `reconstruction`.
pub struct Trainer {
    /// Loss settings.
    pub loss: FffLossConfig,
    /// Optimisation settings.
    pub config: TrainConfig,
    engine: Option<train::Trainer>,
    cancel: Option<Arc<AtomicBool>>,
}

/// Draws the step's minibatch rows (with replacement) from its own stream.
pub(crate) fn batch(
    data: &Tensor,
    condition: Option<&Tensor>,
    size: usize,
    rng: &mut StepRng,
) -> (Tensor, Option<Tensor>) {
    let n = data.dim(0);
    let idx: Vec<usize> = (0..size).map(|_| rng.random_range(0..n)).collect();
    (
        data.index_select(0, &idx),
        condition.map(|c| c.index_select(0, &idx)),
    )
}

impl Trainer {
    /// A trainer at step 0.
    pub fn new(loss: FffLossConfig, config: TrainConfig) -> Self {
        Trainer {
            loss,
            config,
            engine: None,
            cancel: None,
        }
    }

    /// Stops at the next step when `flag` becomes true, checkpointing first (see
    /// [`flow_core::train::Trainer::with_cancel_flag`]).
    pub fn with_cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    pub(crate) fn engine(&mut self, model: &FreeFormFlow) -> &mut train::Trainer {
        let (config, cancel) = (&self.config, &self.cancel);
        self.engine.get_or_insert_with(|| {
            let t = train::Trainer::new(model.parameters(), config.engine());
            match cancel {
                Some(flag) => t.with_cancel_flag(flag.clone()),
                None => t,
            }
        })
    }

    /// Continues from a checkpoint that [`Trainer::fit`] wrote: parameters, Adam moments,
    /// step, curves, best parameters and training seconds; nothing changes on error.
    /// Returns the restored step.
    ///
    /// # Errors
    /// As [`flow_core::train::Trainer::resume_from`].
    pub fn resume(&mut self, model: &FreeFormFlow, path: &Path) -> Result<u64, TrainError> {
        self.engine(model).resume_from(path)
    }

    /// Continues from the configured checkpoint if it exists; returns the restored step.
    ///
    /// # Errors
    /// As [`Trainer::resume`].
    pub fn resume_if_present(&mut self, model: &FreeFormFlow) -> Result<Option<u64>, TrainError> {
        self.engine(model).resume_if_present()
    }

    /// Steps taken so far (including skipped ones).
    pub fn step_count(&self) -> u64 {
        self.engine.as_ref().map_or(0, train::Trainer::step)
    }

    /// The run's curves so far (also after a failed fit); `None` before any fit or resume.
    pub fn curves(&self) -> Option<&flow_core::train::Curves> {
        self.engine.as_ref().map(train::Trainer::curves)
    }

    /// Sets the model to the best validated parameters; false if nothing was validated.
    pub fn restore_best(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(train::Trainer::restore_best)
    }

    /// One step on the given batch (for benchmarks); returns `(loss, surrogate nll,
    /// reconstruction)`, or `None` when the step was skipped as non-finite or the run is
    /// complete.
    pub fn step(
        &mut self,
        model: &FreeFormFlow,
        x: &Tensor,
        condition: Option<&Tensor>,
    ) -> Option<(f64, f64, f64)> {
        let loss = self.loss.clone();
        let engine = self.engine(model);
        let next = engine.step() + 1;
        let report = engine
            .fit_until(next, |_, rng| step_loss(model, x, condition, &loss, rng))
            .ok()?;
        let i = (next - 1) as usize;
        let c = &report.curves;
        let terms = (
            c.loss.get(i)?,
            c.terms.get("nll")?.get(i)?,
            c.terms.get("reconstruction")?.get(i)?,
        );
        terms
            .0
            .is_finite()
            .then_some((*terms.0, *terms.1, *terms.2))
    }

    /// Trains until `config.steps` on minibatches drawn uniformly (with replacement) from
    /// `data` (`[n, D]`, with optional `[n, c]` conditions).
    ///
    /// # Errors
    /// [`TrainError::Data`] for data that does not fit the model; otherwise as
    /// [`flow_core::train::Trainer::fit`] ([`TrainError::NonFinite`] after
    /// `max_consecutive_failures` skipped steps, [`TrainError::Cancelled`]).
    pub fn fit(
        &mut self,
        model: &FreeFormFlow,
        data: &Tensor,
        condition: Option<&Tensor>,
    ) -> Result<TrainReport, TrainError> {
        check_data(model, data)?;
        let (loss, size) = (self.loss.clone(), self.config.batch_size);
        self.engine(model).fit(|_, rng| {
            let (x, c) = batch(data, condition, size, rng);
            step_loss(model, &x, c.as_ref(), &loss, rng)
        })
    }

    /// As [`Trainer::fit`], validating with `metric(steps_done, model)` (lower is better) as
    /// [`TrainConfig::with_validation`] says (every step without it). The model ends with
    /// its last parameters: call [`Trainer::restore_best`] for the best validated ones.
    ///
    /// # Errors
    /// As [`Trainer::fit`].
    pub fn fit_validated(
        &mut self,
        model: &FreeFormFlow,
        data: &Tensor,
        condition: Option<&Tensor>,
        mut metric: impl FnMut(u64, &FreeFormFlow) -> f64,
    ) -> Result<TrainReport, TrainError> {
        check_data(model, data)?;
        let (loss, size) = (self.loss.clone(), self.config.batch_size);
        self.engine(model).fit_validated(
            |_, rng| {
                let (x, c) = batch(data, condition, size, rng);
                step_loss(model, &x, c.as_ref(), &loss, rng)
            },
            |step| metric(step, model),
        )
    }
}

pub(crate) fn check_data(model: &FreeFormFlow, data: &Tensor) -> Result<(), TrainError> {
    if data.dim(0) == 0 || data.ndim() != 2 || data.dim(1) != model.data_dim() {
        return Err(TrainError::Data(format!(
            "data {:?} does not fit a model of dimension {}",
            data.shape(),
            model.data_dim()
        )));
    }
    Ok(())
}

/// The free-form loss of one batch with its recorded terms.
pub(crate) fn step_loss(
    model: &FreeFormFlow,
    x: &Tensor,
    condition: Option<&Tensor>,
    loss: &FffLossConfig,
    rng: &mut StepRng,
) -> StepLoss {
    let terms = fff_loss(model, x, condition, loss, rng);
    let nll = terms.nll.mean_all().item();
    let rec = terms.reconstruction.mean_all().item();
    StepLoss::new(terms.loss)
        .with_term("nll", nll)
        .with_term("reconstruction", rec)
}
