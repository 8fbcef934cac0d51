//! Typed errors for input that comes from outside the crate (models, data, configs).

use thiserror::Error;

/// What can go wrong when building or running a path between minima.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LandscapeError {
    /// Two endpoints (or an endpoint and a model) do not share one parameter layout.
    #[error("parameter layouts differ at `{name}`: {left} vs {right}")]
    LayoutMismatch {
        /// The first parameter (by position) whose name or shape differs.
        name: String,
        /// What the first layout has there (name and shape).
        left: String,
        /// What the second layout has there.
        right: String,
    },
    /// A flat vector does not have as many entries as the layout.
    #[error("flat vector has {got} entries, the layout {expected}")]
    LengthMismatch {
        /// Scalars in the layout.
        expected: usize,
        /// Scalars supplied.
        got: usize,
    },
    /// The loss (or its gradient) at a pivot was NaN or infinite: the cycle stops there.
    #[error("non-finite loss {loss} at pivot {pivot} (cycle {cycle}, step {step})")]
    NonFiniteLoss {
        /// Index of the pivot in the path (0 and n−1 are the fixed ends).
        pivot: usize,
        /// AutoNEB cycle (0-based).
        cycle: usize,
        /// Optimiser step within the cycle (0-based).
        step: usize,
        /// The offending value.
        loss: f64,
    },
    /// A configuration value is out of its domain.
    #[error("invalid configuration: {0}")]
    Config(String),
}
