//! The competence region `S_α = {x : s(x) < t_α}` with `t_α` the `α`-quantile of the
//! in-distribution **validation** scores (never OOD data; arXiv 2303.09989, Sec. 4).

use serde::{Deserialize, Serialize};

use crate::error::RejectError;

/// A threshold on an incompetence score: accept iff `score < value` (strict).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The quantile level `α` it was set at.
    pub level: f64,
    /// The threshold value `t_α`.
    pub value: f64,
}

/// Acceptance statistics of a set at a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    /// Samples in the set.
    pub n: usize,
    /// Fraction accepted (`n_95_frac` at α = 0.95).
    pub accepted_fraction: f64,
    /// Accuracy of the accepted samples (`n_95`; NaN if none accepted).
    pub accepted_accuracy: f64,
    /// Accuracy of the rejected samples (NaN if none rejected).
    pub rejected_accuracy: f64,
    /// Accuracy of the whole set.
    pub overall_accuracy: f64,
}

impl ThresholdReport {
    /// `accepted_accuracy − overall_accuracy`: the accuracy gain of rejecting.
    pub fn gain(&self) -> f64 {
        self.accepted_accuracy - self.overall_accuracy
    }
}

impl Threshold {
    /// `t_α = v_(⌈α n⌉)`, the `(⌈α n⌉ + 1)`-th smallest validation score (0-based index
    /// `⌈α n⌉`), or `+∞` when `⌈α n⌉ = n`. With distinct scores and the strict `<` this accepts
    /// exactly `⌈α n⌉` validation samples, so the accepted fraction of a fresh sample from the
    /// same distribution is `α` up to `O(1/n)` and binomial noise.
    ///
    /// # Errors
    /// [`RejectError::Empty`] for no scores, [`RejectError::NonFinite`] for a NaN score,
    /// [`RejectError::InvalidConfig`] for `α ∉ [0, 1]`.
    ///
    /// ```
    /// use flow_reject::metrics::Threshold;
    /// let t = Threshold::at_quantile(&[4.0, 1.0, 3.0, 2.0], 0.5).unwrap();
    /// assert_eq!(t.value, 3.0); // accepts 1.0 and 2.0 (strictly below 3.0)
    /// assert_eq!(t.report(&[1.0, 2.0, 3.0, 4.0], &[true, true, false, false]).unwrap().accepted_fraction, 0.5);
    /// ```
    pub fn at_quantile(val_scores: &[f64], level: f64) -> Result<Threshold, RejectError> {
        if val_scores.is_empty() {
            return Err(RejectError::Empty("validation scores"));
        }
        if !(0.0..=1.0).contains(&level) {
            return Err(RejectError::InvalidConfig {
                score: "threshold",
                message: format!("quantile level {level} not in [0, 1]"),
            });
        }
        check_scores(val_scores)?;
        let mut v = val_scores.to_vec();
        v.sort_by(f64::total_cmp);
        // The 1e-9 keeps rounding (0.95 · 900 = 855.000…01) from moving ⌈α n⌉ up by one.
        let k = (level * v.len() as f64 - 1e-9).ceil().max(0.0) as usize;
        let value = if k >= v.len() { f64::INFINITY } else { v[k] };
        Ok(Threshold { level, value })
    }

    /// Whether a score lies in the competence region (`score < t`).
    pub fn accepts(&self, score: f64) -> bool {
        score < self.value
    }

    /// Acceptance fraction and accuracies of a scored set (`correct[i]`: prediction `i` right).
    ///
    /// # Errors
    /// [`RejectError::Empty`], [`RejectError::NonFinite`].
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn report(&self, scores: &[f64], correct: &[bool]) -> Result<ThresholdReport, RejectError> {
        assert_eq!(scores.len(), correct.len(), "report: scores vs correct");
        if scores.is_empty() {
            return Err(RejectError::Empty("scored set"));
        }
        check_scores(scores)?;
        let (mut acc_n, mut acc_ok, mut rej_ok) = (0usize, 0usize, 0usize);
        for (&s, &c) in scores.iter().zip(correct) {
            if self.accepts(s) {
                acc_n += 1;
                acc_ok += usize::from(c);
            } else {
                rej_ok += usize::from(c);
            }
        }
        let n = scores.len();
        let ratio = |a: usize, b: usize| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        Ok(ThresholdReport {
            n,
            accepted_fraction: acc_n as f64 / n as f64,
            accepted_accuracy: ratio(acc_ok, acc_n),
            rejected_accuracy: ratio(rej_ok, n - acc_n),
            overall_accuracy: (acc_ok + rej_ok) as f64 / n as f64,
        })
    }
}

/// [`RejectError::NonFinite`] at the first NaN score (infinite scores are allowed: they sort).
pub(crate) fn check_scores(scores: &[f64]) -> Result<(), RejectError> {
    match scores.iter().position(|s| s.is_nan()) {
        Some(row) => Err(RejectError::NonFinite {
            what: "scores",
            row,
            col: 0,
        }),
        None => Ok(()),
    }
}
