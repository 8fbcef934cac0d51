//! One way to train any model of the workspace: a loss over a stream of steps, an optimiser
//! with a schedule and gradient clipping, non-finite detection, atomic resumable checkpoints,
//! periodic validation with best-parameter selection and early stopping, and a progress bar.
//!
//! **Reproducibility.** Step `s` of a run with seed `seed` draws all its randomness
//! (minibatch indices, Hutchinson vectors, base samples) from its own stream
//! [`step_rng`]`(seed, s)`. A checkpoint holds parameters, optimiser state, step, elapsed time,
//! curves and best parameters, so a run killed and resumed from its last checkpoint produces
//! bit-identical parameters and curves to an uninterrupted one.
//!
//! **Cores.** [`Trainer::fit_sharded`] runs each step's loss as shards of the batch, one per
//! core, on replicas of the model ([`DataParallel`]): the same gradient up to round-off, for
//! losses that are means over independent samples, and faster than the ops' own intra-op split
//! on small networks (BENCHMARKS.md, session 12).
//!
//! **Failure.** A non-finite loss, gradient norm or updated parameter never reaches the
//! model: it keeps the values from before that step, no checkpoint is written for it, and
//! training stops with [`TrainError::NonFinite`] naming the step and the last good checkpoint
//! (or skips the step, [`NonFinitePolicy::Skip`]).
//!
//! ```
//! use flow_core::{Tensor, DType, nn::{MlpConfig, Module}};
//! use flow_core::train::{TrainConfig, Trainer, StepLoss};
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
//! let net = MlpConfig::new(1, &[16], 1).build("net", DType::F64, &mut rng);
//! let grid: Vec<f64> = (0..64).map(|i| -1.0 + 2.0 * i as f64 / 63.0).collect();
//! let x = Tensor::from_vec(grid, &[64, 1]);
//! let y = x.square();
//! let mut trainer = Trainer::new(net.parameters(), TrainConfig::new(300, 1e-2).with_validation(50, None));
//! let report = trainer
//!     .fit_validated(
//!         |_step, rng| {
//!             let idx: Vec<usize> = (0..16).map(|_| rand::RngExt::random_range(rng, 0..64)).collect();
//!             let err = net.forward(&x.index_select(0, &idx)).sub(&y.index_select(0, &idx));
//!             StepLoss::new(err.square().mean_all())
//!         },
//!         |_| net.forward(&x).sub(&y).square().mean_all().item(),
//!     )
//!     .expect("finite losses");
//! assert_eq!(report.curves.loss.len(), 300);
//! assert!(report.curves.validation.last().unwrap().1 < report.curves.validation[0].1);
//! trainer.restore_best();
//! ```

mod config;
mod curves;
mod data_parallel;
mod fit;
mod progress;
mod shard_grad;
mod state;
mod trainer;

use std::path::PathBuf;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

pub use config::{CheckpointSpec, NonFinitePolicy, OptimizerConfig, TrainConfig, ValidationSpec};
pub use curves::Curves;
pub use data_parallel::{DataParallel, Shard, ShardedGrad};
pub use fit::{FitConfig, FitReport, fit_to_data};
pub use trainer::Trainer;

use crate::io::CheckpointError;
use crate::tensor::Tensor;

/// The random-number generator of a training step.
pub type StepRng = rand::rngs::Xoshiro256PlusPlus;

/// The random stream of step `step` of a run with seed `seed`.
pub fn step_rng(seed: u64, step: u64) -> StepRng {
    // seed_from_u64 expands its input with SplitMix64, so nearby inputs give unrelated streams.
    StepRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step)
}

/// What one step's loss closure returns: the scalar to minimise and named terms to record.
#[derive(Clone, Debug)]
pub struct StepLoss {
    /// The scalar loss (a tensor of one element) that is differentiated.
    pub loss: Tensor,
    /// Terms recorded in [`Curves::terms`] (e.g. reconstruction, boundary, residual).
    pub terms: Vec<(String, f64)>,
}

impl StepLoss {
    /// A loss without extra terms.
    pub fn new(loss: Tensor) -> StepLoss {
        StepLoss {
            loss,
            terms: Vec::new(),
        }
    }

    /// Records `value` as the term `name` of this step.
    pub fn with_term(mut self, name: impl Into<String>, value: f64) -> StepLoss {
        self.terms.push((name.into(), value));
        self
    }
}

impl From<Tensor> for StepLoss {
    fn from(loss: Tensor) -> StepLoss {
        StepLoss::new(loss)
    }
}

/// What turned non-finite in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinite {
    /// The loss.
    Loss,
    /// The gradient norm.
    GradientNorm,
    /// A parameter after the update.
    Parameters,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NonFinite::Loss => "loss",
            NonFinite::GradientNorm => "gradient norm",
            NonFinite::Parameters => "parameters after the update",
        })
    }
}

/// Why training stopped before its last step.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A NaN or infinity appeared; the model keeps the parameters from before that step and
    /// the last checkpoint on disk (if any) is untouched.
    #[error("non-finite {quantity} at step {step}; last good checkpoint: {}",
        last_checkpoint.as_ref().map_or_else(|| "none".to_string(), |p| p.display().to_string()))]
    NonFinite {
        /// The step (0-based) that failed.
        step: u64,
        /// What was non-finite.
        quantity: NonFinite,
        /// The last checkpoint this run wrote or resumed from, if any.
        last_checkpoint: Option<PathBuf>,
    },
    /// Writing or reading a checkpoint failed (nothing was changed).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A checkpoint's metadata contradicts the run's config (nothing was changed).
    #[error("{}: cannot resume: `{field}`: {message}", path.display())]
    Resume {
        /// The checkpoint.
        path: PathBuf,
        /// The metadata field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Training was cancelled ([`Trainer::with_cancel_flag`]) after `step` steps; the state
    /// was checkpointed if checkpoints are configured.
    #[error("training cancelled after step {step}")]
    Cancelled {
        /// Steps completed.
        step: u64,
    },
    /// The data given to [`fit_to_data`] cannot be used.
    #[error("bad data: {0}")]
    Data(String),
}

/// What a call to [`Trainer::fit`] did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// Steps completed in the whole run (skipped ones included).
    pub steps: u64,
    /// The whole run's curves (earlier segments included after a resume).
    pub curves: Curves,
    /// Wall-clock seconds of this call.
    pub seconds: f64,
    /// Training seconds of the whole run, earlier segments included.
    pub total_seconds: f64,
    /// `(step, metric)` of the best validation, if any.
    pub best: Option<(u64, f64)>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The step this trainer resumed from, if it resumed.
    pub resumed_from: Option<u64>,
    /// Seconds of the whole run spent in validation (included in `total_seconds`).
    pub validation_seconds: f64,
    /// How many times the run was resumed from a checkpoint.
    pub resumes: u64,
}
