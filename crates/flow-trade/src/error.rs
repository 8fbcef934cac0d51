//! Typed errors: configuration mistakes and non-finite numbers met during training.

use thiserror::Error;

/// Everything that can go wrong in flow-trade that is not a programmer error.
#[derive(Debug, Error)]
pub enum TradeError {
    /// A configuration value is out of its allowed range.
    #[error("invalid TRADE configuration: {0}")]
    Config(String),
    /// The energy or the SNIS weights at parameter `c` were not finite.
    #[error("non-finite {what} at c = {c} (step {step})")]
    NonFinite {
        /// What was non-finite (energy, SNIS weights, residual target).
        what: &'static str,
        /// The offending parameter value.
        c: f64,
        /// The optimiser step (0 before training).
        step: u64,
    },
    /// The training loop stopped (non-finite loss or gradient, checkpoint failure); the model
    /// keeps the last good parameters.
    #[error(transparent)]
    Train(#[from] flow_core::train::TrainError),
    /// A checkpoint could not be read or written, or lacks the TRADE state.
    #[error(transparent)]
    Checkpoint(#[from] flow_core::io::CheckpointError),
}
