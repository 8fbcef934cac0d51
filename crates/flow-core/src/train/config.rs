//! Settings of a training run: optimiser, schedule, clipping, non-finite policy, checkpoints,
//! validation and progress display. Everything that shapes a run's numbers lives here, so a
//! run is described by its config, its seed and its loss.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::optim::{Adam, AdamConfig, MomentumCycle, Optimizer, Schedule, Sgd, SgdConfig};

/// The first-order optimiser of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerConfig {
    /// Adam / AdamW (the default).
    Adam(AdamConfig),
    /// SGD with optional (Nesterov) momentum.
    Sgd(SgdConfig),
}

impl OptimizerConfig {
    /// The configured base learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            OptimizerConfig::Adam(c) => c.lr,
            OptimizerConfig::Sgd(c) => c.lr,
        }
    }

    /// A fresh optimiser with this configuration.
    pub fn build(&self) -> Box<dyn Optimizer> {
        match self {
            OptimizerConfig::Adam(c) => Box::new(Adam::new(c.clone())),
            OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c.clone())),
        }
    }
}

/// What happens when a step's loss, gradient norm or updated parameters are not finite.
///
/// In both cases the parameters and optimiser state of the failing step are discarded (the
/// model keeps the values from before the step) and no checkpoint is written for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinitePolicy {
    /// Stop with [`super::TrainError::NonFinite`] naming the step (the default).
    Stop,
    /// Skip the step (its random stream is spent, the step counter advances) and go on; stop
    /// with [`super::TrainError::NonFinite`] after `max_consecutive` skipped steps in a row.
    Skip {
        /// Consecutive skipped steps tolerated.
        max_consecutive: usize,
    },
}

/// Where and how often the training state is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSpec {
    /// The checkpoint file (safetensors, replaced atomically).
    pub path: PathBuf,
    /// Steps between writes; the last step and an early stop are always written.
    pub every: u64,
}

/// Periodic validation with best-parameter selection and early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationSpec {
    /// Steps between validations; the last step is always validated.
    pub every: u64,
    /// Stop after this many validations in a row without a new best (None: never stop).
    pub patience: Option<usize>,
}

/// Settings of a [`super::Trainer`] run.
///
/// ```
/// use flow_core::optim::Schedule;
/// use flow_core::train::{NonFinitePolicy, TrainConfig};
/// let config = TrainConfig::new(1000, 1e-3)
///     .with_schedule(Schedule::Cosine { total_steps: 1000, final_factor: 0.0 })
///     .with_clip_grad_norm(10.0)
///     .with_seed(7)
///     .with_validation(100, Some(5))
///     .with_non_finite(NonFinitePolicy::Skip { max_consecutive: 20 });
/// assert_eq!(config.steps, 1000);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Total optimiser steps.
    pub steps: u64,
    /// The optimiser and its base learning rate.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule over the steps (multiplies the base rate).
    pub schedule: Schedule,
    /// Momentum cycled inversely to a one-cycle rate (None: the optimiser's own momentum
    /// throughout). Only a [`Schedule::OneCycle`] has a cycle; [`super::Trainer::new`]
    /// refuses it with any other schedule.
    #[serde(default)]
    pub momentum_cycle: Option<MomentumCycle>,
    /// Clip the global gradient norm to this value (None: no clipping).
    pub clip_grad_norm: Option<f64>,
    /// Seed of the per-step random streams ([`super::step_rng`]).
    pub seed: u64,
    /// What a non-finite step does.
    pub non_finite: NonFinitePolicy,
    /// Periodic checkpoints (None: in memory only).
    pub checkpoint: Option<CheckpointSpec>,
    /// Periodic validation (used by [`super::Trainer::fit_validated`]).
    pub validation: Option<ValidationSpec>,
    /// Label of a terminal progress bar (None: no bar). The bar draws to stderr only when it
    /// is a terminal.
    pub progress: Option<String>,
}

impl TrainConfig {
    /// `steps` Adam steps at `learning_rate`: constant schedule, no clipping, seed 0, stop at
    /// the first non-finite step, no checkpoints, no validation, no progress bar.
    pub fn new(steps: u64, learning_rate: f64) -> TrainConfig {
        TrainConfig {
            steps,
            optimizer: OptimizerConfig::Adam(AdamConfig::new(learning_rate)),
            schedule: Schedule::Constant,
            momentum_cycle: None,
            clip_grad_norm: None,
            seed: 0,
            non_finite: NonFinitePolicy::Stop,
            checkpoint: None,
            validation: None,
            progress: None,
        }
    }

    /// Replaces the optimiser (its `lr` becomes the base learning rate).
    pub fn with_optimizer(mut self, optimizer: OptimizerConfig) -> TrainConfig {
        self.optimizer = optimizer;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> TrainConfig {
        self.schedule = schedule;
        self
    }

    /// Cycles the optimiser's momentum inversely to the one-cycle rate ([`MomentumCycle`]).
    pub fn with_momentum_cycle(mut self, cycle: MomentumCycle) -> TrainConfig {
        self.momentum_cycle = Some(cycle);
        self
    }

    /// Clips the global gradient norm to `max_norm`.
    pub fn with_clip_grad_norm(mut self, max_norm: f64) -> TrainConfig {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Sets Adam's decoupled weight decay (AdamW) or SGD's L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> TrainConfig {
        match &mut self.optimizer {
            OptimizerConfig::Adam(c) => c.weight_decay = weight_decay,
            OptimizerConfig::Sgd(c) => c.weight_decay = weight_decay,
        }
        self
    }

    /// Sets the seed of the per-step random streams.
    pub fn with_seed(mut self, seed: u64) -> TrainConfig {
        self.seed = seed;
        self
    }

    /// Sets the non-finite policy.
    pub fn with_non_finite(mut self, policy: NonFinitePolicy) -> TrainConfig {
        self.non_finite = policy;
        self
    }

    /// Writes the training state to `path` every `every` steps (at least 1).
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>, every: u64) -> TrainConfig {
        self.checkpoint = Some(CheckpointSpec {
            path: path.into(),
            every: every.max(1),
        });
        self
    }

    /// Validates every `every` steps (at least 1); with `patience`, stops after that many
    /// validations in a row without a new best.
    pub fn with_validation(mut self, every: u64, patience: Option<usize>) -> TrainConfig {
        self.validation = Some(ValidationSpec {
            every: every.max(1),
            patience,
        });
        self
    }

    /// Shows a progress bar with this label (on a terminal only).
    pub fn with_progress(mut self, label: impl Into<String>) -> TrainConfig {
        self.progress = Some(label.into());
        self
    }

    /// The learning rate of step `step` (0-based).
    pub fn learning_rate_at(&self, step: u64) -> f64 {
        self.schedule
            .learning_rate(self.optimizer.learning_rate(), step)
    }

    /// The cycled momentum of step `step` (0-based), if the run cycles it.
    pub fn momentum_at(&self, step: u64) -> Option<f64> {
        self.momentum_cycle
            .and_then(|c| self.schedule.cycled_momentum(c, step))
    }
}
