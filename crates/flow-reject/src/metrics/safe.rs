//! The paper's safe-region curve `G(α)` (arXiv 2303.09989, Sec. 4; official `metrics.py`):
//! for each ID quantile level `α`, the target samples inside `S_α = {s < q_α(ID-val scores)}`
//! and their accuracy. Unlike the accuracy–coverage curve its x-axis is the ID level, so a
//! score that accepts few target samples at every `α` shows it directly.

use serde::{Deserialize, Serialize};

use super::threshold::Threshold;
use crate::error::RejectError;

/// One point of `G(α)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SafePoint {
    /// ID quantile level.
    pub level: f64,
    /// Fraction of the target set inside `S_α`.
    pub coverage: f64,
    /// Accuracy inside `S_α` (NaN when empty).
    pub accuracy: f64,
}

/// `G(α)` on the levels `k/steps`, `k = 1..=steps`, with thresholds from `val_scores` only.
///
/// # Errors
/// As [`Threshold::at_quantile`] and [`Threshold::report`].
///
/// ```
/// let val = [1.0, 2.0, 3.0, 4.0];
/// let g = flow_reject::metrics::safe_curve(&val, &[1.5, 3.5], &[true, false], 4).unwrap();
/// assert_eq!(g[1].coverage, 0.5); // α = 0.5: t = 3, only 1.5 is inside
/// assert_eq!(g[1].accuracy, 1.0);
/// assert_eq!(g[3].coverage, 1.0);
/// ```
pub fn safe_curve(
    val_scores: &[f64],
    scores: &[f64],
    correct: &[bool],
    steps: usize,
) -> Result<Vec<SafePoint>, RejectError> {
    (1..=steps)
        .map(|k| {
            let level = k as f64 / steps as f64;
            let rep = Threshold::at_quantile(val_scores, level)?.report(scores, correct)?;
            Ok(SafePoint {
                level,
                coverage: rep.accepted_fraction,
                accuracy: rep.accepted_accuracy,
            })
        })
        .collect()
}

/// Area under `G(α)` over `α ∈ [0, 1]` by the trapezoid rule on the points with a defined
/// accuracy (the official "AUSC over α"); NaN when fewer than two points are defined.
pub fn ausc_over_levels(curve: &[SafePoint]) -> f64 {
    let pts: Vec<&SafePoint> = curve.iter().filter(|p| p.accuracy.is_finite()).collect();
    if pts.len() < 2 {
        return f64::NAN;
    }
    pts.windows(2)
        .map(|w| (w[1].level - w[0].level) * (w[0].accuracy + w[1].accuracy) / 2.0)
        .sum()
}
