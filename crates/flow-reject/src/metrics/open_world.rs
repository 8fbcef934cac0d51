//! The open world (arXiv 2303.09989, official `mix_open`): samples of classes the classifier
//! never saw are mixed into the target set; they carry no valid label, so their predictions
//! always count as wrong.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::RejectError;

/// A target set with unknown-class samples appended.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenWorldMix {
    /// Scores: the known samples first, then the unknown ones.
    pub scores: Vec<f64>,
    /// Correctness; `false` for every unknown sample.
    pub correct: Vec<bool>,
    /// Whether each sample is of an unknown class.
    pub unknown: Vec<bool>,
}

/// Appends `u = round(p · n / (1 − p))` samples drawn without replacement from the unknown
/// pool, so that unknowns make up the fraction `p` of the mixed set.
///
/// # Errors
/// [`RejectError::InvalidConfig`] for `p ∉ [0, 1)` or a pool smaller than `u`.
///
/// # Panics
/// If `known_scores` and `known_correct` differ in length.
pub fn mix_open<R: Rng + ?Sized>(
    known_scores: &[f64],
    known_correct: &[bool],
    unknown_scores: &[f64],
    p: f64,
    rng: &mut R,
) -> Result<OpenWorldMix, RejectError> {
    assert_eq!(known_scores.len(), known_correct.len(), "mix_open: lengths");
    if !(0.0..1.0).contains(&p) {
        return Err(RejectError::InvalidConfig {
            score: "mix_open",
            message: format!("unknown fraction {p} not in [0, 1)"),
        });
    }
    let n = known_scores.len();
    let u = (p * n as f64 / (1.0 - p)).round() as usize;
    if u > unknown_scores.len() {
        return Err(RejectError::InvalidConfig {
            score: "mix_open",
            message: format!(
                "needs {u} unknown samples, pool has {}",
                unknown_scores.len()
            ),
        });
    }
    let mut pool: Vec<usize> = (0..unknown_scores.len()).collect();
    pool.shuffle(rng);
    let mut out = OpenWorldMix {
        scores: known_scores.to_vec(),
        correct: known_correct.to_vec(),
        unknown: vec![false; n],
    };
    for &i in &pool[..u] {
        out.scores.push(unknown_scores[i]);
        out.correct.push(false);
        out.unknown.push(true);
    }
    Ok(out)
}
