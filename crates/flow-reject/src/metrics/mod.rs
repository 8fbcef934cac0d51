//! Competence-region metrics (arXiv 2303.09989, Sec. 4; official `metrics.py`): thresholds
//! from in-distribution validation scores only, accuracy–coverage curves, AURC/AUSC with
//! their random and oracle references in closed form, accuracy per score quintile, and the
//! open-world mix of unknown-class samples.
//!
//! **Tie rule (one rule everywhere):** a sample is accepted iff its score is *strictly* below
//! the threshold, so samples tied at the threshold are all rejected; along a curve, samples
//! with equal scores are accepted or rejected together (the curve has one point per distinct
//! score), and AURC averages over the orders inside a tie group (the expectation under a
//! uniformly random tie break), which makes the result independent of the input order.

mod curve;
mod open_world;
mod quintile;
mod safe;
mod threshold;

pub use curve::{
    AccuracyCoverage, aurc, aurc_oracle, aurc_oracle_limit, aurc_random, ausc, ausc_shifted,
    coverage_at_accuracy, curve,
};
pub use open_world::{OpenWorldMix, mix_open};
pub use quintile::{quantile_accuracies, quintile_trend};
pub use safe::{SafePoint, ausc_over_levels, safe_curve};
pub use threshold::{Threshold, ThresholdReport};
