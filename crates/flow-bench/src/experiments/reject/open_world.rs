//! `reject-open-world`: the competence region when images of unknown classes are mixed into
//! the target (competence-regions.md §5 FULL-F4 open-world variant; official `mix_open`).

use flow_reject::ScoreKind;
use flow_reject::bench::SeedSummary;
use serde::{Deserialize, Serialize};

use super::common::{RejectPreset, ci, fmt_ci, line, run_seeds, score_series};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::validate::PresetLimit;
use flow_reject::bench::Objective;

/// Preset of [`RejectOpenWorld`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenPreset {
    /// Shared settings (with `known_classes`).
    pub base: RejectPreset,
}

/// `reject-open-world`: train on digits 0–6, mix 20 % digits 7–9 into each target.
pub struct RejectOpenWorld;

const SCORES: [ScoreKind; 6] = [
    ScoreKind::Softmax,
    ScoreKind::MaxLogit,
    ScoreKind::Energy,
    ScoreKind::Mahalanobis,
    ScoreKind::DeepKnn,
    ScoreKind::Vim,
];

fn open_values(
    runs: &[SeedSummary],
    k: ScoreKind,
    t: usize,
    f: fn(&flow_reject::bench::OpenSummary) -> f64,
) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            let s = r
                .scores
                .iter()
                .find(|s| s.kind == k)
                .expect("score evaluated");
            f(&s.open[t])
        })
        .collect()
}

impl Experiment for RejectOpenWorld {
    fn check_preset(&self, preset: &serde_json::Value) -> Result<(), crate::validate::PresetError> {
        super::common::check_shift_angles(self.id(), preset)
    }
    /// Known classes of the ten digits: 2..=10; 100 training images keep every source domain non-empty after the class filter.
    fn preset_limits(&self) -> &'static [PresetLimit] {
        super::common::PRESET_LIMITS
    }
    fn id(&self) -> &'static str {
        "reject-open-world"
    }
    fn paper(&self) -> PaperId {
        PaperId::CompetenceRegions
    }
    fn title(&self) -> &'static str {
        "Open world: unknown classes mixed into the shifted target"
    }
    fn claim(&self) -> &'static str {
        "The representation matters in the open world: feature-based scores (Deep-KNN) reject unknown-class samples more often than the softmax does."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&OpenPreset {
            base: RejectPreset::for_mode(mode, SCORES.to_vec(), Some(7)),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: OpenPreset = ctx.preset()?;
        let b = &p.base;
        ctx.set_work(b.seeds as u64);
        let runs = run_seeds(ctx, b, &Objective::Erm, 0)?;
        let mild = b.target_index(b.mild_degrees)?;
        let mut claim = Table::new(
            &format!(
                "Unknown-class samples accepted at the 95 % ID threshold, {}° (mean ± 95 % CI over seeds)",
                b.mild_degrees
            ),
            "comparison",
            "accepted unknown fraction",
        );
        let soft = open_values(&runs, ScoreKind::Softmax, mild, |o| o.unknown_accepted);
        for k in [ScoreKind::DeepKnn, ScoreKind::Vim] {
            let v = open_values(&runs, k, mild, |o| o.unknown_accepted);
            let d = ci(v.iter().zip(&soft).map(|(a, s)| a - s));
            claim.push(
                format!(
                    "{} − Softmax: {} ({} alone: {:.3})",
                    k.label(),
                    fmt_ci(d),
                    k.label(),
                    ci(v.iter().copied()).0
                ),
                d.0,
                "< 0: CI upper bound below 0",
                Verdict::check(d.2 >= 2 && d.0 + d.1 < 0.0),
            );
        }
        let mut table = Table::new(
            "Every score and target: unknown fraction accepted; in the setting the accuracy of the accepted mixed set (unknowns count as wrong) and the AURC of the mixed set (closed-world AURC of the same classifier)",
            "target, score: accepted accuracy | AURC open (closed)",
            "accepted unknown fraction",
        );
        for (ti, deg) in b.protocol.data.targets.iter().enumerate() {
            for k in SCORES {
                let m = |f: fn(&flow_reject::bench::OpenSummary) -> f64| {
                    ci(open_values(&runs, k, ti, f)).0
                };
                let closed = ci(runs.iter().map(|r| {
                    r.scores
                        .iter()
                        .find(|s| s.kind == k)
                        .expect("score")
                        .targets[ti]
                        .aurc
                }))
                .0;
                table.push(
                    format!(
                        "{deg}°, {}: {:.3} | {:.3} ({closed:.3})",
                        k.label(),
                        m(|o| o.mixed.accepted_accuracy),
                        m(|o| o.mixed.aurc)
                    ),
                    m(|o| o.unknown_accepted),
                    "—",
                    Verdict::Info,
                );
            }
        }
        let series = SCORES
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let pts = (0..b.protocol.data.targets.len())
                    .map(|ti| {
                        (
                            b.protocol.data.targets[ti],
                            ci(open_values(&runs, k, ti, |o| o.unknown_accepted)).0,
                        )
                    })
                    .collect();
                score_series(k.label(), pts, i)
            })
            .collect();
        ctx.save_figure(
            "open_unknown_accepted.svg",
            format!("Fraction of unknown-class images (digits 7–9) accepted at the 95 % ID threshold against target rotation, mean over {} seeds", b.seeds),
            |path| line("Unknown classes accepted", "rotation (degrees)", "accepted unknown fraction", series).save_svg(path),
        )?;
        Ok(Outcome {
            tables: vec![claim, table],
            figures: vec![],
            notes: vec![format!(
                "The classifier is trained on digits 0–{} only; each target mixes its known-class test images with unknown-class test images under the same rotation so that unknowns are {} of the mixed set (drawn without replacement; they always count as errors).",
                b.protocol.data.classes() - 1,
                b.protocol.open_fraction
            )],
        })
    }
}
