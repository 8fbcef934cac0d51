//! Training of coupling flows: maximum likelihood ([`nll`]) and reverse KL ([`reverse_kl`])
//! run on the workspace's one training loop, [`flow_core::train::Trainer`], through the thin
//! [`Trainer`] here (which adds the flow's fixed buffers to its checkpoints).
//!
//! Reproducibility: step `s` draws its randomness from [`step_rng`]`(seed, s)` alone, and a
//! checkpoint holds parameters, optimiser moments, step and curves, so a run resumed from a
//! checkpoint produces bit-identical numbers to an uninterrupted one.

pub mod checkpointing;
pub mod nll;
pub mod reverse_kl;
pub mod sharded;

use std::path::{Path, PathBuf};

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::optim::Schedule;
use flow_core::train::Trainer as Engine;

use crate::bijection::Bijection;
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

/// The random stream of step `step` of a run with seed `seed` (the engine's, see
/// [`flow_core::train::step_rng`]).
pub use flow_core::train::step_rng;

pub use flow_core::train::{NonFinite, TrainError};

impl TrainConfig {
    /// The engine's config for this run (Adam at `learning_rate`, the schedule, clipping,
    /// the seed; stop at the first non-finite step).
    pub fn engine(&self) -> flow_core::train::TrainConfig {
        let mut c = flow_core::train::TrainConfig::new(self.steps, self.learning_rate)
            .with_schedule(self.schedule.clone())
            .with_seed(self.seed);
        c.clip_grad_norm = self.max_grad_norm;
        c
    }
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

/// Runs optimiser steps on a [`Flow`] for any loss: the workspace's one training loop
/// ([`flow_core::train::Trainer`]) over the flow's parameters, with the flow's fixed buffers
/// (permutations, rotations) stored in and checked against every checkpoint.
pub struct Trainer<'a> {
    flow: &'a Flow,
    engine: Engine,
}

impl<'a> Trainer<'a> {
    /// A fresh run at step 0.
    pub fn new(flow: &'a Flow, config: TrainConfig) -> Trainer<'a> {
        Trainer {
            flow,
            engine: Self::engine(flow, config.engine()),
        }
    }

    fn engine(flow: &Flow, config: flow_core::train::TrainConfig) -> Engine {
        Engine::new(flow.parameters(), config).with_buffers(flow.buffers())
    }

    /// Writes a checkpoint to `path` (atomically) every `every` steps and after the last.
    pub fn with_checkpoints(self, path: impl Into<PathBuf>, every: u64) -> Trainer<'a> {
        let config = self.engine.config().clone().with_checkpoint(path, every);
        Trainer {
            flow: self.flow,
            engine: Self::engine(self.flow, config),
        }
    }

    /// Continues the run stored at `path`: restores parameters, optimiser state, step and
    /// curves (see [`flow_core::train::Trainer::resume_from`]). Nothing changes on error.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if the file is unreadable or does not fit the model;
    /// [`TrainError::Resume`] naming the field if it contradicts the config or the buffers.
    pub fn resume(
        flow: &'a Flow,
        config: TrainConfig,
        path: impl AsRef<Path>,
    ) -> Result<Trainer<'a>, TrainError> {
        let mut trainer = Trainer::new(flow, config);
        trainer.engine.resume_from(path.as_ref())?;
        Ok(trainer)
    }

    /// Steps completed.
    pub fn step(&self) -> u64 {
        self.engine.step()
    }

    /// Records of every step of the run (after a resume, the earlier ones too).
    pub fn history(&self) -> Vec<StepRecord> {
        let c = self.engine.curves();
        c.loss
            .iter()
            .zip(&c.grad_norm)
            .enumerate()
            .map(|(i, (&loss, &grad_norm))| StepRecord {
                step: i as u64,
                loss,
                grad_norm,
            })
            .collect()
    }

    /// The underlying engine (curves, config, best parameters).
    pub fn engine_ref(&self) -> &Engine {
        &self.engine
    }

    /// Saves the full training state (atomically).
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        self.engine.save(path.as_ref(), 0.0)
    }

    /// Runs until `config.steps`; `loss(flow, rng)` returns the scalar loss of one step.
    ///
    /// # Errors
    /// [`TrainError::NonFinite`] at the first non-finite loss or gradient (the model keeps
    /// the last good parameters); [`TrainError::Checkpoint`] if a checkpoint write fails.
    pub fn run(
        &mut self,
        loss: impl FnMut(&Flow, &mut Xoshiro256PlusPlus) -> Tensor,
    ) -> Result<(), TrainError> {
        self.run_until(u64::MAX, loss)
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
        let flow = self.flow;
        self.engine.fit_until(until, |_, rng| loss(flow, rng))?;
        Ok(())
    }
}
