//! The judged rows of `reject-rotated-digits` can fail: real per-seed summaries of a tiny
//! protocol run, then edited into deliberately wrong outcomes.

use flow_reject::ScoreKind;
use flow_reject::bench::{Objective, SeedSummary, run_protocol};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::common::RejectPreset;
use super::rotated::{mild_table, quintile_table, shift_table, strong_table};
use crate::experiment::{Mode, Table, Verdict};

/// The test-mode protocol with an intermediate target (60°) between mild and strong.
fn runs() -> (RejectPreset, Vec<SeedSummary>) {
    let mut p = RejectPreset::for_mode(Mode::Test, ScoreKind::ALL.to_vec(), None);
    p.protocol.data.targets = vec![30.0, 60.0, 90.0];
    let runs = (0..3)
        .map(|s| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(s);
            run_protocol(&p.protocol, &Objective::Erm, s, &mut rng).expect("protocol runs")
        })
        .collect();
    (p, runs)
}

/// The verdict of the first row whose setting starts with `prefix`.
fn verdict(t: &Table, prefix: &str) -> Verdict {
    t.rows
        .iter()
        .find(|r| r.setting.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row {prefix}"))
        .verdict
}

/// Applies `f` to the summary of score `k` on target `t` of every seed (seed index given).
fn edit(
    runs: &mut [SeedSummary],
    k: ScoreKind,
    t: usize,
    f: impl Fn(usize, &mut flow_reject::bench::SetSummary),
) {
    for (i, r) in runs.iter_mut().enumerate() {
        let s = r.scores.iter_mut().find(|s| s.kind == k).expect("score");
        f(i, &mut s.targets[t]);
    }
}

#[test]
fn judged_rows_fail_on_wrong_outcomes() {
    let (p, base) = runs();
    let (mild, mid, strong) = (0, 1, 2);
    let acc30: Vec<f64> = base
        .iter()
        .map(|r| {
            let s = r.scores.iter().find(|s| s.kind == ScoreKind::Softmax);
            s.expect("softmax").targets[mild].accuracy
        })
        .collect();

    // Intermediate target: accuracy falling below 30° passes, one above it fails.
    let mut runs = base.clone();
    edit(&mut runs, ScoreKind::Softmax, mid, |i, s| {
        s.accuracy = acc30[i] - 0.2
    });
    assert_eq!(
        verdict(&shift_table(&p, &runs, mild, strong), "target 60°"),
        Verdict::Pass
    );
    edit(&mut runs, ScoreKind::Softmax, mid, |i, s| {
        s.accuracy = acc30[i] + 0.01
    });
    assert_eq!(
        verdict(&shift_table(&p, &runs, mild, strong), "target 60°"),
        Verdict::Fail
    );

    // Quintile drop: falling accuracy passes, flat accuracy fails.
    let mut runs = base.clone();
    edit(&mut runs, ScoreKind::Vim, mild, |i, s| {
        s.quintiles = vec![0.9, 0.8, 0.7, 0.6, 0.5 - 0.01 * i as f64];
    });
    assert_eq!(
        verdict(&quintile_table(&p, &runs, mild), "ViM:"),
        Verdict::Pass
    );
    edit(&mut runs, ScoreKind::Vim, mild, |i, s| {
        s.quintiles = vec![0.7, 0.7, 0.7, 0.7, 0.7 + 0.01 * i as f64];
    });
    assert_eq!(
        verdict(&quintile_table(&p, &runs, mild), "ViM:"),
        Verdict::Fail
    );

    // (iv) against MaxLogit: Deep-KNN accepting more than MaxLogit fails.
    let mut runs = base.clone();
    edit(&mut runs, ScoreKind::MaxLogit, mild, |i, s| {
        s.accepted_fraction = 0.8 + 0.01 * i as f64;
        s.accepted_accuracy = 0.8;
    });
    edit(&mut runs, ScoreKind::DeepKnn, mild, |i, s| {
        s.accepted_fraction = 0.5 + 0.01 * i as f64;
        s.accepted_accuracy = 0.9 + 0.01 * i as f64;
    });
    let t = mild_table(&p, &runs, mild);
    assert_eq!(
        verdict(&t, "(iv) accepted fraction Deep-KNN − MaxLogit"),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&t, "(iv) accepted accuracy Deep-KNN − MaxLogit"),
        Verdict::Pass
    );
    edit(&mut runs, ScoreKind::DeepKnn, mild, |i, s| {
        s.accepted_fraction = 0.9 + 0.01 * i as f64;
        s.accepted_accuracy = 0.7;
    });
    let t = mild_table(&p, &runs, mild);
    assert_eq!(
        verdict(&t, "(iv) accepted fraction Deep-KNN − MaxLogit"),
        Verdict::Fail
    );
    assert_eq!(
        verdict(&t, "(iv) accepted accuracy Deep-KNN − MaxLogit"),
        Verdict::Fail
    );

    // Strong shift: ViM rejecting everything passes, ViM accepting half fails.
    let mut runs = base;
    edit(&mut runs, ScoreKind::Vim, strong, |_, s| {
        s.accepted_fraction = 0.0
    });
    let t = strong_table(&p, &runs, mild, strong);
    assert_eq!(
        verdict(
            &t,
            &format!(
                "{}°: ViM accepted fraction",
                p.protocol.data.targets[strong]
            )
        ),
        Verdict::Pass
    );
    edit(&mut runs, ScoreKind::Vim, strong, |_, s| {
        s.accepted_fraction = 0.5
    });
    let t = strong_table(&p, &runs, mild, strong);
    assert_eq!(
        verdict(
            &t,
            &format!(
                "{}°: ViM accepted fraction",
                p.protocol.data.targets[strong]
            )
        ),
        Verdict::Fail
    );
}
