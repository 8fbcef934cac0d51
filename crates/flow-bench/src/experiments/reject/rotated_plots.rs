//! Figures of `reject-rotated-digits`: accuracy–coverage curves per target, quintile
//! accuracies at mild shift, accepted fraction and accuracy gain against rotation angle.

use flow_reject::ScoreKind;
use flow_reject::bench::{SeedSummary, SetSummary};

use super::common::{RejectPreset, ci, line, per_seed, score_series};
use crate::context::RunContext;
use crate::experiment::ExperimentError;
use crate::plot::Series;

/// Accuracy of the oracle at coverage `c` for overall accuracy `a`: `min(1, a / c)`.
fn oracle_curve(a: f64) -> Vec<(f64, f64)> {
    (1..=100)
        .map(|i| {
            let c = i as f64 / 100.0;
            (c, (a / c).min(1.0))
        })
        .collect()
}

pub(super) fn save_plots(
    ctx: &mut RunContext,
    b: &RejectPreset,
    runs: &[SeedSummary],
) -> Result<(), ExperimentError> {
    let first = &runs[..1];
    for (ti, deg) in b.protocol.data.targets.iter().enumerate() {
        let mut series: Vec<Series> = ScoreKind::ALL
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let c = &per_seed(first, k, Some(ti))[0].curve;
                let pts = c
                    .coverage
                    .iter()
                    .copied()
                    .zip(c.accuracy.iter().copied())
                    .collect();
                score_series(k.label(), pts, i)
            })
            .collect();
        let acc = per_seed(first, ScoreKind::Softmax, Some(ti))[0].accuracy;
        series.push(Series::dashed("oracle", oracle_curve(acc), 6));
        series.push(Series::dashed("random", vec![(0.0, acc), (1.0, acc)], 7));
        ctx.save_figure(
            &format!("accuracy_coverage_{deg}.svg"),
            format!("Accuracy of the accepted set against its coverage (accept the lowest scores first) at target rotation {deg}°, seed 1 of {}; dashed: oracle min(1, acc/c) and random (acc = {acc:.3})", b.seeds),
            |path| line(&format!("Accuracy–coverage, {deg}°"), "coverage", "accuracy", series).save_svg(path),
        )?;
    }
    let mild = b.target_index(b.mild_degrees)?;
    let quint: Vec<Series> = ScoreKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let s = per_seed(runs, k, Some(mild));
            let pts = (0..5)
                .map(|q| (q as f64 + 1.0, ci(s.iter().map(|x| x.quintiles[q])).0))
                .collect();
            score_series(k.label(), pts, i)
        })
        .collect();
    ctx.save_figure(
        "quintiles.svg",
        format!(
            "Accuracy per score quintile (1 = most competent) at {}°, mean over {} seeds",
            b.mild_degrees, b.seeds
        ),
        |path| line("Accuracy per score quintile", "quintile", "accuracy", quint).save_svg(path),
    )?;
    let safe: Vec<Series> = ScoreKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let s = per_seed(runs, k, Some(mild));
            let pts = (0..s[0].safe.len())
                .filter_map(|j| {
                    let a = ci(s.iter().map(|x| x.safe[j].accuracy)).0;
                    a.is_finite().then_some((s[0].safe[j].level, a))
                })
                .collect();
            score_series(k.label(), pts, i)
        })
        .collect();
    ctx.save_figure(
        "safe_curve.svg",
        format!("The paper's safe-region curve G(α) at {}°: accuracy of the target samples below the α-quantile of the ID validation scores, mean over {} seeds (levels where a score accepts nothing in every seed are left out)", b.mild_degrees, b.seeds),
        |path| line("G(α): accuracy inside the competence region", "ID quantile level α", "accuracy", safe).save_svg(path),
    )?;
    let against_angle = |f: fn(&SetSummary) -> f64| -> Vec<Series> {
        ScoreKind::ALL
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let mut pts = vec![(0.0, ci(per_seed(runs, k, None).iter().map(|x| f(x))).0)];
                for (ti, deg) in b.protocol.data.targets.iter().enumerate() {
                    let v = ci(per_seed(runs, k, Some(ti)).iter().map(|x| f(x))).0;
                    if v.is_finite() {
                        pts.push((*deg, v));
                    }
                }
                score_series(k.label(), pts, i)
            })
            .collect()
    };
    let frac = against_angle(|s| s.accepted_fraction);
    ctx.save_figure(
        "accepted_fraction.svg",
        format!("Fraction accepted at the 95 % ID-validation threshold against target rotation (0° = ID test), mean over {} seeds", b.seeds),
        |path| line("Accepted fraction", "rotation (degrees)", "accepted fraction", frac).save_svg(path),
    )?;
    let gain = against_angle(|s| s.gain);
    ctx.save_figure(
        "accuracy_gain.svg",
        format!("Accuracy gain of the accepted set over the whole set against target rotation (0° = ID test; points where a score accepts nothing are left out), mean over {} seeds", b.seeds),
        |path| line("Accuracy gain", "rotation (degrees)", "accepted − overall accuracy", gain).save_svg(path),
    )?;
    Ok(())
}
