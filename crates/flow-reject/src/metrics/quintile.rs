//! Accuracy per score quantile bin (the paper's quintile plots): sort by score, cut into `bins`
//! groups of (nearly) equal size, report each group's accuracy from the lowest to the highest
//! scores. Ties are ordered by sample index (a stable sort), the one place where tied samples
//! may land in different bins; the cut points are `⌊b n / bins⌋`.

use super::threshold::check_scores;
use crate::error::RejectError;
use crate::stats::spearman;

/// Accuracy of each of `bins` equal-count score bins, lowest scores first.
///
/// # Errors
/// [`RejectError::NonFinite`] for a NaN score; [`RejectError::InvalidConfig`] when there are
/// fewer samples than bins or `bins = 0`.
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// let acc = flow_reject::metrics::quantile_accuracies(
///     &[5.0, 1.0, 4.0, 2.0, 3.0], &[false, true, false, true, true], 5).unwrap();
/// assert_eq!(acc, vec![1.0, 1.0, 1.0, 0.0, 0.0]);
/// ```
pub fn quantile_accuracies(
    scores: &[f64],
    correct: &[bool],
    bins: usize,
) -> Result<Vec<f64>, RejectError> {
    assert_eq!(scores.len(), correct.len(), "quantile_accuracies: lengths");
    check_scores(scores)?;
    let n = scores.len();
    if bins == 0 || n < bins {
        return Err(RejectError::InvalidConfig {
            score: "quantile_accuracies",
            message: format!("{n} samples into {bins} bins"),
        });
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    Ok((0..bins)
        .map(|b| {
            let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
            let ok = idx[lo..hi].iter().filter(|&&i| correct[i]).count();
            ok as f64 / (hi - lo) as f64
        })
        .collect())
}

/// Spearman correlation between bin index and bin accuracy: −1 when accuracy falls strictly
/// with rising incompetence.
pub fn quintile_trend(accuracies: &[f64]) -> f64 {
    let idx: Vec<f64> = (0..accuracies.len()).map(|i| i as f64).collect();
    spearman(&idx, accuracies)
}
