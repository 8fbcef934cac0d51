//! The evaluation protocol (arXiv 2303.09989, Sec. 4): fit every score on the pooled source
//! training features, set its threshold at quantile `level` of the **in-distribution
//! validation** scores, and score the ID test set and every target domain (plus the target's
//! unknown-class images in the open world).

use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use super::data::{LabeledSet, RotatedDigits};
use crate::error::RejectError;
use crate::input::{FitData, Observed};
use crate::metrics::Threshold;
use crate::scores::ScoreKind;

/// Scores and correctness of one scored set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredSet {
    /// Incompetence score per sample.
    pub scores: Vec<f64>,
    /// Whether the prediction is right.
    pub correct: Vec<bool>,
}

impl ScoredSet {
    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        self.correct.iter().filter(|&&c| c).count() as f64 / self.correct.len() as f64
    }
}

/// One score evaluated on every set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoreRun {
    /// Which score.
    pub kind: ScoreKind,
    /// The threshold from the ID validation scores.
    pub threshold: Threshold,
    /// The ID validation scores (thresholds at other levels, the safe curve `G(α)`).
    pub val_scores: Vec<f64>,
    /// ID test set.
    pub id_test: ScoredSet,
    /// Known-class samples of each target domain.
    pub targets: Vec<ScoredSet>,
    /// Scores of each target's unknown-class samples (empty in the closed world).
    pub unknown: Vec<Vec<f64>>,
}

/// Correctness of the classifier's predictions on a set.
pub fn correctness(model: &Classifier, set: &LabeledSet) -> Vec<bool> {
    correct_of(&model.observe(&set.images), &set.labels)
}

/// Whether each argmax prediction of `obs` equals its label.
fn correct_of(obs: &Observed, labels: &[usize]) -> Vec<bool> {
    obs.predictions()
        .iter()
        .zip(labels)
        .map(|(p, y)| p == y)
        .collect()
}

/// Fits each score in `kinds` and evaluates it on the benchmark's sets.
///
/// # Errors
/// Any [`RejectError`] of fitting or scoring (e.g. non-finite features of a diverged model).
pub fn evaluate(
    model: &Classifier,
    bench: &RotatedDigits,
    kinds: &[ScoreKind],
    vim_dim: usize,
    level: f64,
) -> Result<Vec<ScoreRun>, RejectError> {
    let train = bench.pooled_train();
    let train_obs = model.observe(&train.images);
    let head = model.head_matrix();
    let fit = FitData {
        train: &train_obs,
        labels: &train.labels,
        head: &head,
    };
    let val_obs = model.observe(&bench.val.images);
    let observe = |set: &LabeledSet| {
        let obs = model.observe(&set.images);
        let correct = correct_of(&obs, &set.labels);
        (obs, correct)
    };
    let id = observe(&bench.id_test);
    let targets: Vec<_> = bench.targets.iter().map(|t| observe(&t.known)).collect();
    let unknown: Vec<_> = bench
        .targets
        .iter()
        .filter(|t| !t.unknown.is_empty())
        .map(|t| model.observe(&t.unknown.images))
        .collect();
    kinds
        .iter()
        .map(|&kind| {
            let score = kind.fit(vim_dim, &fit)?;
            let val_scores = score.score(&val_obs)?;
            let threshold = Threshold::at_quantile(&val_scores, level)?;
            let scored = |(obs, correct): &(Observed, Vec<bool>)| {
                score.score(obs).map(|scores| ScoredSet {
                    scores,
                    correct: correct.clone(),
                })
            };
            Ok(ScoreRun {
                kind,
                threshold,
                val_scores,
                id_test: scored(&id)?,
                targets: targets.iter().map(scored).collect::<Result<_, _>>()?,
                unknown: unknown
                    .iter()
                    .map(|o| score.score(o))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}
