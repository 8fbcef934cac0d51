//! Training loops: maximum likelihood ([`nll`]) and reverse KL ([`reverse_kl`]) share one
//! [`Trainer`] with Adam, a learning-rate schedule, gradient-norm clipping, NaN detection and
//! atomic, resumable checkpoints ([`checkpointing`]).
//!
//! Reproducibility: step `s` draws its randomness from [`step_rng`]`(seed, s)` alone, and a
//! checkpoint holds parameters, optimiser moments and the step count, so a run resumed from
//! a checkpoint produces bit-identical numbers to an uninterrupted one.

pub mod checkpointing;
pub mod nll;
pub mod reverse_kl;

use std::path::{Path, PathBuf};

use flow_core::io::CheckpointError;
use flow_core::nn::{Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, Schedule, clip_grad_norm};
use flow_core::{Tensor, grad};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::flow::Flow;

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Total optimiser steps.
    pub steps: u64,
    /// Samples per step (data batch, or flow samples for reverse KL).
    pub batch_size: usize,
    /// Adam's base learning rate.
    pub learning_rate: f64,
    /// Learning-rate schedule over `steps`.
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Seed of the per-step random streams.
    pub seed: u64,
}

impl TrainConfig {
    /// `steps` steps, batch 512, lr 1e-3 with cosine decay to 0, clipping at 10, seed 0.
    pub fn new(steps: u64) -> TrainConfig {
        TrainConfig {
            steps,
            batch_size: 512,
            learning_rate: 1e-3,
            schedule: Schedule::Cosine {
                total_steps: steps,
                final_factor: 0.0,
            },
            max_grad_norm: Some(10.0),
            seed: 0,
        }
    }

    /// Sets the batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> TrainConfig {
        self.batch_size = batch_size;
        self
    }

    /// Sets the base learning rate.
    pub fn with_learning_rate(mut self, lr: f64) -> TrainConfig {
        self.learning_rate = lr;
        self
    }

    /// Sets the schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> TrainConfig {
        self.schedule = schedule;
        self
    }

    /// Sets (or disables) gradient clipping.
    pub fn with_max_grad_norm(mut self, max: Option<f64>) -> TrainConfig {
        self.max_grad_norm = max;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> TrainConfig {
        self.seed = seed;
        self
    }
}

/// The random stream of step `step` of a run with seed `seed`.
pub fn step_rng(seed: u64, step: u64) -> Xoshiro256PlusPlus {
    // seed_from_u64 expands its input with SplitMix64, so nearby inputs give unrelated streams.
    Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step)
}

/// What turned non-finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFinite {
    /// The loss.
    Loss,
    /// The gradient norm.
    GradientNorm,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NonFinite::Loss => "loss",
            NonFinite::GradientNorm => "gradient norm",
        })
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A NaN or infinity appeared; the model keeps the parameters of the last good step and
    /// the last checkpoint on disk (if any) is left untouched.
    #[error("non-finite {quantity} at step {step}; last good checkpoint: {}",
        last_checkpoint.as_ref().map_or_else(|| "none".to_string(), |p| p.display().to_string()))]
    NonFiniteAt {
        /// The step (0-based) whose loss or gradient was non-finite.
        step: u64,
        /// What was non-finite.
        quantity: NonFinite,
        /// The last checkpoint written by this run, if any.
        last_checkpoint: Option<PathBuf>,
    },
    /// Writing or reading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// One step's record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step (0-based).
    pub step: u64,
    /// The loss.
    pub loss: f64,
    /// The gradient norm before clipping.
    pub grad_norm: f64,
}

/// Runs optimiser steps on a [`Flow`] for any loss (see the module docs).
pub struct Trainer<'a> {
    flow: &'a Flow,
    params: Vec<Param>,
    optimizer: Adam,
    config: TrainConfig,
    step: u64,
    checkpoints: Option<(PathBuf, u64)>,
    last_checkpoint: Option<PathBuf>,
    history: Vec<StepRecord>,
}

impl<'a> Trainer<'a> {
    /// A fresh run at step 0.
    pub fn new(flow: &'a Flow, config: TrainConfig) -> Trainer<'a> {
        Trainer {
            flow,
            params: flow.parameters(),
            optimizer: Adam::new(AdamConfig::new(config.learning_rate)),
            config,
            step: 0,
            checkpoints: None,
            last_checkpoint: None,
            history: Vec::new(),
        }
    }

    /// Writes a checkpoint to `path` (atomically) every `every` steps.
    pub fn with_checkpoints(mut self, path: impl Into<PathBuf>, every: u64) -> Trainer<'a> {
        self.checkpoints = Some((path.into(), every.max(1)));
        self
    }

    /// Continues the run stored at `path`: restores parameters, optimiser state and step.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if the file is unreadable or does not fit the model.
    pub fn resume(
        flow: &'a Flow,
        config: TrainConfig,
        path: impl AsRef<Path>,
    ) -> Result<Trainer<'a>, TrainError> {
        let mut trainer = Trainer::new(flow, config);
        let ck = flow_core::io::Checkpoint::load(path.as_ref())?;
        trainer.step = checkpointing::restore_training(&ck, flow, &mut trainer.optimizer)?;
        trainer.last_checkpoint = Some(path.as_ref().to_path_buf());
        Ok(trainer)
    }

    /// Steps completed.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Records of the steps run by this trainer (not those before a resume).
    pub fn history(&self) -> &[StepRecord] {
        &self.history
    }

    /// Saves the full training state (atomically).
    ///
    /// # Errors
    /// [`CheckpointError::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        checkpointing::training_checkpoint(self.flow, &self.optimizer, self.step, self.config.seed)
            .save(path)
    }

    /// Runs until `config.steps`; `loss(flow, rng)` returns the scalar loss of one step.
    ///
    /// # Errors
    /// [`TrainError::NonFiniteAt`] at the first non-finite loss or gradient (the model keeps
    /// the last good parameters); [`TrainError::Checkpoint`] if a checkpoint write fails.
    pub fn run(
        &mut self,
        loss: impl FnMut(&Flow, &mut Xoshiro256PlusPlus) -> Tensor,
    ) -> Result<(), TrainError> {
        self.run_until(self.config.steps, loss)
    }

    /// Runs until `until` steps are complete (at most `config.steps`).
    ///
    /// # Errors
    /// As [`Trainer::run`].
    pub fn run_until(
        &mut self,
        until: u64,
        mut loss: impl FnMut(&Flow, &mut Xoshiro256PlusPlus) -> Tensor,
    ) -> Result<(), TrainError> {
        let until = until.min(self.config.steps);
        while self.step < until {
            let s = self.step;
            let mut rng = step_rng(self.config.seed, s);
            let lr = self
                .config
                .schedule
                .learning_rate(self.config.learning_rate, s);
            self.optimizer.set_learning_rate(lr);
            let l = loss(self.flow, &mut rng);
            let value = l.item();
            if !value.is_finite() {
                return Err(self.non_finite(s, NonFinite::Loss));
            }
            let vals = values(&self.params);
            let grads = grad(&l, &vals.iter().collect::<Vec<_>>());
            let (grads, norm) = match self.config.max_grad_norm {
                Some(max) => clip_grad_norm(&grads, max),
                None => clip_grad_norm(&grads, f64::INFINITY),
            };
            if !norm.is_finite() {
                return Err(self.non_finite(s, NonFinite::GradientNorm));
            }
            self.optimizer.step(&self.params, &grads);
            self.step += 1;
            self.history.push(StepRecord {
                step: s,
                loss: value,
                grad_norm: norm,
            });
            if let Some((path, every)) = &self.checkpoints
                && self.step.is_multiple_of(*every)
            {
                self.save(path)?;
                self.last_checkpoint = Some(path.clone());
            }
        }
        Ok(())
    }

    fn non_finite(&self, step: u64, quantity: NonFinite) -> TrainError {
        TrainError::NonFiniteAt {
            step,
            quantity,
            last_checkpoint: self.last_checkpoint.clone(),
        }
    }
}
