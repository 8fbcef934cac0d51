//! Training loop for free-form flows: minibatch Adam with schedule and gradient clipping,
//! skipping of non-finite steps with restoration of the last good parameters, and atomic
//! checkpoints.
//!
//! References: FFF arXiv:2310.16624, App. (Adam, one-cycle or constant schedules, grad-norm
//! clipping; the official code skips non-finite batches and EGNN runs resume from the last
//! checkpoint); FIF arXiv:2306.01843, §5.

use std::path::{Path, PathBuf};
use std::time::Instant;

use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::{Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, Schedule, clip_grad_norm};
use flow_core::{Tensor, grad};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::model::FreeFormFlow;
use crate::surrogate::{FffLossConfig, fff_loss};

/// Optimisation settings.
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
    /// Steps between checkpoints (and between in-memory snapshots of good parameters).
    pub checkpoint_every: u64,
    /// Consecutive non-finite steps after which training stops with an error.
    pub max_consecutive_failures: usize,
}

impl TrainConfig {
    /// `steps` Adam steps at `learning_rate`, batch `batch_size`, constant schedule, no clipping.
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
}

/// What happened during training (per-step series are batch means).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainReport {
    /// Loss per completed step.
    pub loss: Vec<f64>,
    /// Surrogate NLL per completed step.
    pub surrogate_nll: Vec<f64>,
    /// Reconstruction error per completed step.
    pub reconstruction: Vec<f64>,
    /// Steps skipped because the loss or a gradient was not finite.
    pub skipped_steps: usize,
    /// Times the last good parameters were restored.
    pub restorations: usize,
    /// Wall-clock seconds of this call to [`Trainer::fit`].
    pub seconds: f64,
    /// Training seconds of earlier segments, restored by [`Trainer::resume`] (0 for a fresh
    /// run); `seconds + earlier_seconds` is the run's total.
    pub earlier_seconds: f64,
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Too many consecutive non-finite steps; the model holds the last good parameters.
    #[error("training diverged at step {step}: {failures} consecutive non-finite steps")]
    Diverged {
        /// The step at which training gave up.
        step: u64,
        /// Consecutive failures.
        failures: usize,
    },
    /// A checkpoint could not be written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The data set is empty or does not fit the model.
    #[error("bad data: {0}")]
    Data(String),
}

/// Trains a [`FreeFormFlow`] with the free-form loss.
pub struct Trainer {
    /// Loss settings.
    pub loss: FffLossConfig,
    /// Optimisation settings.
    pub config: TrainConfig,
    optimizer: Adam,
    step: u64,
    earlier_seconds: f64,
}

impl Trainer {
    /// A trainer with a fresh Adam state.
    pub fn new(loss: FffLossConfig, config: TrainConfig) -> Self {
        let optimizer =
            Adam::new(AdamConfig::new(config.learning_rate).with_weight_decay(config.weight_decay));
        Trainer {
            loss,
            config,
            optimizer,
            step: 0,
            earlier_seconds: 0.0,
        }
    }

    /// Continues from a checkpoint that [`Trainer::fit`] wrote
    /// ([`TrainConfig::with_checkpoint`]): restores the model's parameters, the Adam moments
    /// and the step counter, so that `fit` runs only the remaining steps and the learning-rate
    /// schedule picks up where it stopped, and the training seconds recorded so far (see
    /// [`TrainReport::earlier_seconds`]). Returns the restored step. Minibatches after a
    /// resume come from whatever RNG the caller passes to `fit`, so a resumed run matches an
    /// uninterrupted one in distribution, not bit for bit.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if the file cannot be read or does not match the model
    /// (names, shapes, dtypes) or lacks the optimiser state.
    pub fn resume(&mut self, model: &FreeFormFlow, path: &Path) -> Result<u64, TrainError> {
        let checkpoint = Checkpoint::load(path)?;
        let params = model.parameters();
        checkpoint.restore_params(&params)?;
        self.optimizer.load_state(&checkpoint, &params)?;
        self.step = checkpoint.metadata_parsed("step")?;
        self.earlier_seconds = checkpoint.metadata_parsed("seconds").unwrap_or(0.0);
        Ok(self.step)
    }

    /// Steps taken so far (including skipped ones).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// One step on a batch; returns `(loss, surrogate nll, reconstruction)` or `None` when the
    /// step was skipped because something was not finite.
    pub fn step<R: Rng + ?Sized>(
        &mut self,
        model: &FreeFormFlow,
        x: &Tensor,
        condition: Option<&Tensor>,
        rng: &mut R,
    ) -> Option<(f64, f64, f64)> {
        let params = model.parameters();
        let lr = self
            .config
            .schedule
            .learning_rate(self.config.learning_rate, self.step);
        self.optimizer.set_learning_rate(lr);
        self.step += 1;
        let terms = fff_loss(model, x, condition, &self.loss, rng);
        let loss = terms.loss.item();
        if !loss.is_finite() {
            return None;
        }
        let grads = grad(&terms.loss, &values(&params).iter().collect::<Vec<_>>());
        let (grads, norm) = match self.config.clip_grad_norm {
            Some(c) => clip_grad_norm(&grads, c),
            None => (grads, 0.0),
        };
        if !norm.is_finite() || !grads.iter().all(Tensor::all_finite) {
            return None;
        }
        self.optimizer.step(&params, &grads);
        Some((
            loss,
            terms.nll.mean_all().item(),
            terms.reconstruction.mean_all().item(),
        ))
    }

    /// Trains for `config.steps` steps on minibatches drawn uniformly (with replacement) from
    /// `data` (`[n, D]`, with optional `[n, c]` conditions). `monitor(step, model)` runs after
    /// every completed step (for exact-NLL tracking, progress, cancellation by returning false).
    /// With [`TrainConfig::with_checkpoint`], the state is written every `checkpoint_every`
    /// steps and after the last step, so a finished run resumes to a no-op.
    ///
    /// # Errors
    /// [`TrainError::Diverged`] after `max_consecutive_failures` non-finite steps in a row (the
    /// model then holds the last good parameters); [`TrainError::Checkpoint`] if a checkpoint
    /// cannot be written; [`TrainError::Data`] for an empty data set.
    pub fn fit<R: Rng + ?Sized>(
        &mut self,
        model: &FreeFormFlow,
        data: &Tensor,
        condition: Option<&Tensor>,
        rng: &mut R,
        mut monitor: impl FnMut(u64, &FreeFormFlow) -> bool,
    ) -> Result<TrainReport, TrainError> {
        let n = data.dim(0);
        if n == 0 || data.ndim() != 2 || data.dim(1) != model.data_dim() {
            return Err(TrainError::Data(format!(
                "data {:?} does not fit a model of dimension {}",
                data.shape(),
                model.data_dim()
            )));
        }
        let params = model.parameters();
        let mut good = snapshot(&params);
        let mut report = TrainReport {
            earlier_seconds: self.earlier_seconds,
            ..TrainReport::default()
        };
        let start = Instant::now();
        let mut failures: usize = 0;
        while self.step < self.config.steps {
            let idx: Vec<usize> = (0..self.config.batch_size)
                .map(|_| rng.random_range(0..n))
                .collect();
            let x = data.index_select(0, &idx);
            let c = condition.map(|c| c.index_select(0, &idx));
            let Some((loss, nll, rec)) = self.step(model, &x, c.as_ref(), rng) else {
                report.skipped_steps += 1;
                failures += 1;
                if !params.iter().all(|p| p.get().all_finite()) || failures.is_multiple_of(5) {
                    restore(&params, &good);
                    report.restorations += 1;
                }
                if failures >= self.config.max_consecutive_failures {
                    restore(&params, &good);
                    return Err(TrainError::Diverged {
                        step: self.step,
                        failures,
                    });
                }
                continue;
            };
            failures = 0;
            report.loss.push(loss);
            report.surrogate_nll.push(nll);
            report.reconstruction.push(rec);
            let last = self.step == self.config.steps;
            if self.step.is_multiple_of(self.config.checkpoint_every) || last {
                good = snapshot(&params);
                if let Some(path) = &self.config.checkpoint_path {
                    let mut ck = Checkpoint::from_params(&params);
                    self.optimizer.save_state(&mut ck);
                    ck.set_metadata("step", self.step.to_string());
                    let seconds = self.earlier_seconds + start.elapsed().as_secs_f64();
                    ck.set_metadata("seconds", seconds.to_string());
                    ck.save(path)?;
                }
            }
            if !monitor(self.step, model) {
                break;
            }
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

fn snapshot(params: &[Param]) -> Vec<Tensor> {
    params.iter().map(|p| p.get().detach()).collect()
}

fn restore(params: &[Param], values: &[Tensor]) {
    for (p, v) in params.iter().zip(values) {
        p.set(v.clone());
    }
}
