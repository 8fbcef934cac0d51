//! Presets, per-seed runs and seed statistics shared by the competence-region experiments.

use flow_reject::ScoreKind;
use flow_reject::bench::{
    Objective, ProtocolConfig, RotatedDigitsConfig, SeedSummary, SetSummary, TrainSettings,
    run_protocol,
};
use flow_reject::stats::mean_ci95;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{ExperimentError, Mode};
use crate::plot::{LinePlot, Scale, Series};

pub(super) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

/// The preset every competence-region experiment shares: seeds, the protocol, and the two
/// angles its claims read (mild and strong shift; both must be among the targets).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectPreset {
    /// Independent seeds (split, initialisation, minibatches).
    pub seeds: usize,
    /// Benchmark, classifier, training, scores, threshold level.
    pub protocol: ProtocolConfig,
    /// The mild-shift target angle.
    pub mild_degrees: f64,
    /// The strong-shift target angle.
    pub strong_degrees: f64,
}

impl RejectPreset {
    /// Sizes per mode: Test (seconds), Quick (5 seeds, §4 sizes, 4 targets), Full (10 seeds,
    /// targets every 10° from 20° to 90°).
    pub fn for_mode(mode: Mode, scores: Vec<ScoreKind>, known_classes: Option<usize>) -> Self {
        let targets = pick(
            mode,
            vec![30.0, 90.0],
            vec![30.0, 45.0, 60.0, 90.0],
            vec![20.0, 30.0, 40.0, 45.0, 50.0, 60.0, 70.0, 80.0, 90.0],
        );
        RejectPreset {
            seeds: pick(mode, 2, 5, 10),
            protocol: ProtocolConfig {
                data: RotatedDigitsConfig {
                    targets,
                    known_classes,
                    ..RotatedDigitsConfig::standard()
                },
                hidden: pick(mode, 32, 128, 128),
                // 40 epochs of the 3 × 1000 source images at 3 × 32 per step (§4).
                train: TrainSettings {
                    steps: pick(mode, 60, 1250, 1250),
                    batch_per_domain: 32,
                    lr: 1e-3,
                },
                scores,
                vim_dim: pick(mode, 8, 32, 32),
                level: 0.95,
                open_fraction: 0.2,
            },
            mild_degrees: 30.0,
            strong_degrees: 90.0,
        }
    }

    /// Index of a target angle.
    pub fn target_index(&self, degrees: f64) -> Result<usize, ExperimentError> {
        self.protocol
            .data
            .targets
            .iter()
            .position(|&a| a == degrees)
            .ok_or_else(|| {
                ExperimentError::Failed(format!("target angle {degrees}° not in the preset"))
            })
    }
}

/// Runs the protocol for every seed of the preset (one progress step each).
pub(super) fn run_seeds(
    ctx: &mut RunContext,
    p: &RejectPreset,
    objective: &Objective,
    stream: u64,
) -> Result<Vec<SeedSummary>, ExperimentError> {
    let mut out = Vec::with_capacity(p.seeds);
    for s in 0..p.seeds {
        ctx.set_message(format!("{}, seed {}/{}", objective.label(), s + 1, p.seeds));
        let mut rng = ctx.rng(stream * 1000 + s as u64);
        let seed: u64 = rng.random();
        let run = run_protocol(&p.protocol, objective, seed, &mut rng).map_err(|e| {
            ExperimentError::Failed(format!("{} seed {seed}: {e}", objective.label()))
        })?;
        out.push(run);
        ctx.step()?;
    }
    Ok(out)
}

/// A score's summaries on one set across seeds (`None` = the ID test set, else a target).
pub(super) fn per_seed(
    runs: &[SeedSummary],
    kind: ScoreKind,
    target: Option<usize>,
) -> Vec<&SetSummary> {
    runs.iter()
        .map(|r| {
            let s = r
                .scores
                .iter()
                .find(|s| s.kind == kind)
                .expect("score evaluated in every seed");
            match target {
                None => &s.id_test,
                Some(t) => &s.targets[t],
            }
        })
        .collect()
}

/// Mean and 95 % t-interval half-width over the finite values (NaN when none; `n` kept).
pub(super) fn ci(values: impl IntoIterator<Item = f64>) -> (f64, f64, usize) {
    let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, 0);
    }
    let (m, h) = mean_ci95(&v);
    (m, h, v.len())
}

/// `mean ± half (n)` as text.
pub(super) fn fmt_ci((m, h, n): (f64, f64, usize)) -> String {
    format!("{m:.3} ± {h:.3} (n = {n})")
}

pub(super) fn line(title: &str, x: &str, y: &str, series: Vec<Series>) -> LinePlot {
    LinePlot {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series,
    }
}

/// Series style of score `i` of many: solid for the first 8 palette colours, dashed after.
pub(super) fn score_series(label: &str, points: Vec<(f64, f64)>, i: usize) -> Series {
    if i < 8 {
        Series::solid(label, points, i)
    } else {
        Series::dashed(label, points, i)
    }
}

/// [`crate::experiment::Experiment::check_preset`] of the competence-region experiments: the
/// mild and strong shifts are read from the target domains, so each must be one of them.
pub(super) fn check_shift_angles(
    experiment: &str,
    preset: &serde_json::Value,
) -> Result<(), crate::validate::PresetError> {
    let targets = preset
        .pointer("/base/protocol/data/targets")
        .and_then(serde_json::Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(serde_json::Value::as_f64)
                .collect::<Vec<f64>>()
        })
        .unwrap_or_default();
    for field in ["mild_degrees", "strong_degrees"] {
        let pointer = format!("/base/{field}");
        let Some(angle) = preset.pointer(&pointer).and_then(serde_json::Value::as_f64) else {
            continue;
        };
        if !targets.contains(&angle) {
            return Err(crate::validate::PresetError {
                experiment: experiment.to_string(),
                pointer,
                value: angle.to_string(),
                allowed: format!(
                    "one of the target angles /base/protocol/data/targets = {targets:?}"
                ),
            });
        }
    }
    Ok(())
}

/// The field limits every competence-region experiment shares: 2..=10 known classes of the
/// ten digits, and at least 100 training images so every source domain stays non-empty after
/// the class filter.
pub(super) const PRESET_LIMITS: &[crate::validate::PresetLimit] = &[
    crate::validate::PresetLimit {
        field: "known_classes",
        min: 2,
        max: 10,
    },
    crate::validate::PresetLimit {
        field: "train",
        min: 100,
        max: crate::validate::MAX_COUNT,
    },
];
