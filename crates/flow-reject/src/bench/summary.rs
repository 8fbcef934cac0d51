//! Per-seed summaries of the protocol: for each score and target domain the numbers the paper
//! reports (accepted fraction and accuracy at the ID threshold, gain, AURC beside its random
//! and oracle references, quintile accuracies and their trend), plus the open-world numbers.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::classifier::ClassifierConfig;
use super::data::{RotatedDigits, RotatedDigitsConfig};
use super::evaluate::{ScoreRun, ScoredSet, evaluate};
use super::objective::Objective;
use super::train::{TrainSettings, train_classifier};
use crate::error::RejectError;
use crate::metrics::{
    AccuracyCoverage, SafePoint, Threshold, aurc, aurc_oracle, aurc_random, ausc_over_levels,
    curve, mix_open, quantile_accuracies, quintile_trend, safe_curve,
};
use crate::scores::ScoreKind;

/// One score on one scored set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetSummary {
    /// Accuracy of the whole set.
    pub accuracy: f64,
    /// Fraction accepted at the threshold (`n_95_frac`).
    pub accepted_fraction: f64,
    /// Accuracy of the accepted samples (`n_95`; NaN if none).
    pub accepted_accuracy: f64,
    /// `accepted_accuracy − accuracy` (NaN if none accepted).
    pub gain: f64,
    /// AURC of the score.
    pub aurc: f64,
    /// Expected AURC of a random score, `1 − accuracy`.
    pub aurc_random: f64,
    /// AURC of the oracle ranking.
    pub aurc_oracle: f64,
    /// Accuracy per score quintile, lowest scores first.
    pub quintiles: Vec<f64>,
    /// Spearman correlation of quintile index and quintile accuracy.
    pub quintile_trend: f64,
    /// The accuracy–coverage curve.
    pub curve: AccuracyCoverage,
    /// The safe-region curve `G(α)` on `α = 0.05, 0.10, …, 1`.
    pub safe: Vec<SafePoint>,
    /// Area under `G(α)` (trapezoids over the levels with accepted samples).
    pub ausc_levels: f64,
}

/// Summarises one scored set at `threshold` (set on `val_scores`, which also give `G(α)`).
///
/// # Errors
/// [`RejectError`] for NaN scores or sets with fewer than 5 samples.
pub fn summarize_set(
    set: &ScoredSet,
    threshold: &Threshold,
    val_scores: &[f64],
) -> Result<SetSummary, RejectError> {
    let safe = safe_curve(val_scores, &set.scores, &set.correct, 20)?;
    let rep = threshold.report(&set.scores, &set.correct)?;
    let n = set.correct.len();
    let m = set.correct.iter().filter(|&&c| c).count();
    let quintiles = quantile_accuracies(&set.scores, &set.correct, 5)?;
    Ok(SetSummary {
        accuracy: rep.overall_accuracy,
        accepted_fraction: rep.accepted_fraction,
        accepted_accuracy: rep.accepted_accuracy,
        gain: rep.gain(),
        aurc: aurc(&set.scores, &set.correct)?,
        aurc_random: aurc_random(n, m),
        aurc_oracle: aurc_oracle(n, m),
        quintile_trend: quintile_trend(&quintiles),
        quintiles,
        curve: curve(&set.scores, &set.correct)?,
        ausc_levels: ausc_over_levels(&safe),
        safe,
    })
}

/// Open-world numbers of one score on one target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenSummary {
    /// The mixed set (unknowns counted wrong).
    pub mixed: SetSummary,
    /// Fraction of the unknown-class samples accepted at the threshold.
    pub unknown_accepted: f64,
}

/// One score over all sets of one seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Which score.
    pub kind: ScoreKind,
    /// ID test set.
    pub id_test: SetSummary,
    /// Each target domain (known classes only).
    pub targets: Vec<SetSummary>,
    /// Each target with unknown-class samples mixed in (open world only).
    pub open: Vec<OpenSummary>,
}

/// Everything one seed produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedSummary {
    /// The seed (split, initialisation and minibatches).
    pub seed: u64,
    /// The training objective.
    pub objective: Objective,
    /// Final training loss (mean of the last 50 steps).
    pub final_loss: f64,
    /// Per score.
    pub scores: Vec<ScoreSummary>,
}

/// Settings of a protocol run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolConfig {
    /// The benchmark.
    pub data: RotatedDigitsConfig,
    /// Hidden (feature) width of the MLP.
    pub hidden: usize,
    /// Optimisation.
    pub train: TrainSettings,
    /// Scores evaluated.
    pub scores: Vec<ScoreKind>,
    /// ViM's principal dimension.
    pub vim_dim: usize,
    /// Threshold quantile of the ID validation scores (0.95).
    pub level: f64,
    /// Open world: fraction of unknown-class samples in each mixed target (0.2).
    pub open_fraction: f64,
}

/// Why a protocol run failed.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Training stopped at a non-finite step.
    #[error(transparent)]
    Train(#[from] flow_core::train::TrainError),
    /// A score or metric failed.
    #[error(transparent)]
    Reject(#[from] RejectError),
}

/// Builds the benchmark for `seed`, trains with `objective`, fits and thresholds every score,
/// and summarises every set. `rng` only draws the open-world mix.
///
/// # Errors
/// [`ProtocolError`].
pub fn run_protocol<R: Rng + ?Sized>(
    config: &ProtocolConfig,
    objective: &Objective,
    seed: u64,
    rng: &mut R,
) -> Result<SeedSummary, ProtocolError> {
    let bench = RotatedDigits::build(&config.data, seed);
    let net = ClassifierConfig {
        input: flow_data::digits::PIXELS,
        hidden: config.hidden,
        classes: config.data.classes(),
    };
    let (model, losses) = train_classifier(&net, objective, &bench, &config.train, seed)?;
    let tail = &losses[losses.len().saturating_sub(50)..];
    let runs = evaluate(&model, &bench, &config.scores, config.vim_dim, config.level)?;
    let scores = runs
        .iter()
        .map(|run| summarize_run(run, config.open_fraction, rng))
        .collect::<Result<_, _>>()?;
    Ok(SeedSummary {
        seed,
        objective: *objective,
        final_loss: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
        scores,
    })
}

fn summarize_run<R: Rng + ?Sized>(
    run: &ScoreRun,
    open_fraction: f64,
    rng: &mut R,
) -> Result<ScoreSummary, RejectError> {
    let t = &run.threshold;
    let open = run
        .targets
        .iter()
        .zip(&run.unknown)
        .map(|(known, unknown)| {
            let mix = mix_open(&known.scores, &known.correct, unknown, open_fraction, rng)?;
            let mixed = ScoredSet {
                scores: mix.scores.clone(),
                correct: mix.correct.clone(),
            };
            let (acc, tot) = mix
                .scores
                .iter()
                .zip(&mix.unknown)
                .filter(|(_, u)| **u)
                .fold((0usize, 0usize), |(a, n), (s, _)| {
                    (a + usize::from(t.accepts(*s)), n + 1)
                });
            Ok(OpenSummary {
                mixed: summarize_set(&mixed, t, &run.val_scores)?,
                unknown_accepted: acc as f64 / tot.max(1) as f64,
            })
        })
        .collect::<Result<_, RejectError>>()?;
    Ok(ScoreSummary {
        kind: run.kind,
        id_test: summarize_set(&run.id_test, t, &run.val_scores)?,
        targets: run
            .targets
            .iter()
            .map(|s| summarize_set(s, t, &run.val_scores))
            .collect::<Result<_, _>>()?,
        open,
    })
}
