//! Typed errors for inputs that come from outside (features, configs): never a silent NaN.

/// Why a score could not be fitted or evaluated, or a metric computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RejectError {
    /// An input holds a NaN or infinite value.
    #[error("{what}: non-finite value at row {row}, column {col}")]
    NonFinite {
        /// Which input (e.g. "train features").
        what: &'static str,
        /// Row (sample) index.
        row: usize,
        /// Column index.
        col: usize,
    },
    /// A score needs more training samples than it was given (e.g. k-NN with k > n).
    #[error("{score}: needs at least {need} training samples, got {got}")]
    TooFewSamples {
        /// The score's name.
        score: &'static str,
        /// Samples required.
        need: usize,
        /// Samples given.
        got: usize,
    },
    /// Feature or logit widths differ from what the score was fitted on.
    #[error("{what}: expected {expected} columns, got {got}")]
    WidthMismatch {
        /// Which input.
        what: &'static str,
        /// Width at fit time.
        expected: usize,
        /// Width given.
        got: usize,
    },
    /// A configuration value is out of its valid range.
    #[error("{score}: invalid setting: {message}")]
    InvalidConfig {
        /// The score or metric.
        score: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Features have zero variance where the score needs a spread (e.g. all training
    /// features identical), so no regularisation relative to their scale is possible.
    #[error("{score}: degenerate training features: {message}")]
    Degenerate {
        /// The score.
        score: &'static str,
        /// What is degenerate.
        message: String,
    },
    /// A metric was asked for on an empty set.
    #[error("{0}: empty input")]
    Empty(&'static str),
}
