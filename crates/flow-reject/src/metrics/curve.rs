//! Accuracy–coverage curves and the area under the risk–coverage curve (AURC; Geifman et al.
//! 2019, arXiv 1805.08206), with its random and oracle references in closed form; the area
//! under the accuracy ("safe") curve is `AUSC = 1 − AURC` (arXiv 2303.09989, Sec. 4).
//!
//! Sort the `n` samples by score (ascending = most competent first). With `E(i)` the errors
//! among the first `i`, the risk at coverage `i/n` is `E(i)/i` and
//! `AURC = (1/n) Σ_{i=1}^{n} E(i)/i`. Inside a group of tied scores `E(i)` is interpolated
//! linearly (the expectation over random tie breaks), see the tie rule in [`super`].

use serde::{Deserialize, Serialize};

use super::threshold::check_scores;
use crate::error::RejectError;

/// One point per distinct score: accept every sample with score ≤ that score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyCoverage {
    /// Accepted fraction, increasing, in `(0, 1]`; the last is 1.
    pub coverage: Vec<f64>,
    /// Accuracy of the accepted samples; the last is the overall accuracy.
    pub accuracy: Vec<f64>,
}

/// Groups of tied scores in ascending order: `(size, correct)` per group.
fn tie_groups(scores: &[f64], correct: &[bool]) -> Result<Vec<(usize, usize)>, RejectError> {
    assert_eq!(scores.len(), correct.len(), "curve: scores vs correct");
    if scores.is_empty() {
        return Err(RejectError::Empty("scored set"));
    }
    check_scores(scores)?;
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut last = f64::NAN;
    for &i in &idx {
        if scores[i] == last {
            let g = groups.last_mut().expect("a group exists");
            g.0 += 1;
            g.1 += usize::from(correct[i]);
        } else {
            groups.push((1, usize::from(correct[i])));
            last = scores[i];
        }
    }
    Ok(groups)
}

/// The accuracy–coverage curve (a step function over the distinct scores).
///
/// # Errors
/// [`RejectError::Empty`], [`RejectError::NonFinite`] (NaN score).
///
/// # Panics
/// If the lengths differ.
///
/// ```
/// let c = flow_reject::metrics::curve(&[0.1, 0.2, 0.2, 0.9], &[true, true, false, false]).unwrap();
/// assert_eq!(c.coverage, vec![0.25, 0.75, 1.0]);
/// assert_eq!(c.accuracy, vec![1.0, 2.0 / 3.0, 0.5]);
/// ```
pub fn curve(scores: &[f64], correct: &[bool]) -> Result<AccuracyCoverage, RejectError> {
    let groups = tie_groups(scores, correct)?;
    let n = scores.len() as f64;
    let (mut seen, mut ok) = (0usize, 0usize);
    let mut out = AccuracyCoverage {
        coverage: Vec::with_capacity(groups.len()),
        accuracy: Vec::with_capacity(groups.len()),
    };
    for (g, c) in groups {
        seen += g;
        ok += c;
        out.coverage.push(seen as f64 / n);
        out.accuracy.push(ok as f64 / seen as f64);
    }
    Ok(out)
}

/// `AURC = (1/n) Σ_i E(i)/i`, ties averaged over their orders.
///
/// # Errors
/// As [`curve`].
///
/// ```
/// // A score that ranks the one error last is the oracle: (1/n) Σ_{i>m} (i − m)/i = 1/8.
/// let a = flow_reject::metrics::aurc(&[0.0, 1.0, 2.0, 3.0], &[true, true, true, false]).unwrap();
/// assert!((a - flow_reject::metrics::aurc_oracle(4, 3)).abs() < 1e-15);
/// ```
pub fn aurc(scores: &[f64], correct: &[bool]) -> Result<f64, RejectError> {
    let groups = tie_groups(scores, correct)?;
    let mut sum = 0.0;
    let (mut before, mut errors_before) = (0usize, 0.0f64);
    for (g, c) in groups {
        let e = (g - c) as f64;
        for j in 1..=g {
            let expected = errors_before + e * j as f64 / g as f64;
            sum += expected / (before + j) as f64;
        }
        before += g;
        errors_before += e;
    }
    Ok(sum / scores.len() as f64)
}

/// Area under the accuracy–coverage ("safe") curve, `AUSC = (1/n) Σ_i (1 − E(i)/i) = 1 − AURC`.
///
/// # Errors
/// As [`curve`].
pub fn ausc(scores: &[f64], correct: &[bool]) -> Result<f64, RejectError> {
    aurc(scores, correct).map(|a| 1.0 - a)
}

/// The "shifted" AUSC of the official code: `AUSC − accuracy`, the area the safe curve gains
/// over the flat curve of a random score (0 in expectation for a random score, positive when
/// low scores are more accurate).
///
/// # Errors
/// As [`curve`].
///
/// ```
/// let s = flow_reject::metrics::ausc_shifted(&[0.5; 4], &[true, false, true, true]).unwrap();
/// assert!(s.abs() < 1e-15);
/// ```
pub fn ausc_shifted(scores: &[f64], correct: &[bool]) -> Result<f64, RejectError> {
    let acc = correct.iter().filter(|&&c| c).count() as f64 / correct.len().max(1) as f64;
    ausc(scores, correct).map(|a| a - acc)
}

/// Expected AURC of a score independent of correctness: every prefix has expected risk equal
/// to the error rate, so `E[AURC] = 1 − m/n` exactly (`m` correct of `n`).
pub fn aurc_random(n: usize, correct: usize) -> f64 {
    1.0 - correct as f64 / n as f64
}

/// AURC of the oracle that ranks all `m` correct samples first:
/// `(1/n) Σ_{i=m+1}^{n} (i − m)/i`.
pub fn aurc_oracle(n: usize, correct: usize) -> f64 {
    ((correct + 1)..=n)
        .map(|i| (i - correct) as f64 / i as f64)
        .sum::<f64>()
        / n as f64
}

/// Continuous limit of [`aurc_oracle`] at accuracy `a`: `(1 − a) + a ln a`.
pub fn aurc_oracle_limit(accuracy: f64) -> f64 {
    if accuracy <= 0.0 {
        1.0
    } else {
        (1.0 - accuracy) + accuracy * accuracy.ln()
    }
}

/// The largest coverage at which the accepted set is still at least `target` accurate (the
/// paper's point where the accuracy–coverage curve crosses the ID accuracy); 0 when no point
/// of the curve reaches `target`.
///
/// ```
/// use flow_reject::metrics::{curve, coverage_at_accuracy};
/// let c = curve(&[0.1, 0.2, 0.3, 0.4], &[true, true, false, true]).unwrap();
/// assert_eq!(coverage_at_accuracy(&c, 0.9), 0.5);
/// assert_eq!(coverage_at_accuracy(&c, 0.75), 1.0);
/// ```
pub fn coverage_at_accuracy(curve: &AccuracyCoverage, target: f64) -> f64 {
    curve
        .coverage
        .iter()
        .zip(&curve.accuracy)
        .filter(|(_, a)| **a >= target)
        .map(|(c, _)| *c)
        .fold(0.0, f64::max)
}
