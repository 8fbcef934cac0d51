//! Logit scores against hand values and invariances, and typed errors of bad input for all
//! scores (competence-regions.md §5 PT-F1).

mod common;

use common::{fit, head, logits_only, train_set};
use flow_reject::scores::{Energy, EnergyReact, MaxLogit, Softmax};
use flow_reject::{FitData, IncompetenceScore, Observed, RejectError, ScoreKind};
use nalgebra::DMatrix;
use proptest::prelude::*;

#[test]
fn logit_scores_match_hand_values() {
    // Row 0 equal logits (C = 4): Softmax −1/4, MaxLogit −2, Energy −(2 + ln 4).
    // Row 1 logits (0, ln 3, 0, 0): softmax max = 3/6, Energy −ln 6.
    let l3 = 3f64.ln();
    let obs = logits_only(&[2.0, 2.0, 2.0, 2.0, 0.0, l3, 0.0, 0.0], 4);
    let sm = Softmax.score(&obs).unwrap();
    assert!(
        (sm[0] + 0.25).abs() < 1e-15 && (sm[1] + 0.5).abs() < 1e-15,
        "{sm:?}"
    );
    let ml = MaxLogit.score(&obs).unwrap();
    assert_eq!(ml, vec![-2.0, -l3]);
    let en = Energy.score(&obs).unwrap();
    assert!((en[0] + 2.0 + 4f64.ln()).abs() < 1e-14);
    assert!((en[1] + 6f64.ln()).abs() < 1e-14);
}

proptest! {
    /// E(l + c·1) = E(l) − c, and Softmax is shift-invariant.
    #[test]
    fn energy_is_shift_equivariant(l in prop::collection::vec(-20.0f64..20.0, 5), c in -50.0f64..50.0) {
        let a = logits_only(&l, 5);
        let shifted: Vec<f64> = l.iter().map(|v| v + c).collect();
        let b = logits_only(&shifted, 5);
        let (ea, eb) = (Energy.score(&a).unwrap()[0], Energy.score(&b).unwrap()[0]);
        // Tolerance: a few ulps of |l| + |c| ≤ 70 after logsumexp.
        prop_assert!((eb - (ea - c)).abs() < 1e-12);
        let (sa, sb) = (Softmax.score(&a).unwrap()[0], Softmax.score(&b).unwrap()[0]);
        prop_assert!((sa - sb).abs() < 1e-12);
    }
}

#[test]
fn react_equals_energy_below_the_clip_and_clips_above() {
    let (obs, labels, h) = train_set(200, 6, 3, 1);
    let mut r = EnergyReact::new(1.0); // clip at the training maximum
    fit(&mut r, &obs, &labels, &h);
    let ours = r.score(&obs).unwrap();
    let energy = Energy.score(&obs).unwrap();
    for (a, b) in ours.iter().zip(&energy) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // Above the clip, features are replaced by the clip value c.
    let c = r.clip().unwrap();
    let big = DMatrix::from_element(1, 6, c + 10.0);
    let at_clip = DMatrix::from_element(1, 6, c);
    let s_big = r
        .score(&Observed::new(big.clone(), h.logits(&big)))
        .unwrap()[0];
    let want = Energy
        .score(&Observed::new(at_clip.clone(), h.logits(&at_clip)))
        .unwrap()[0];
    assert!((s_big - want).abs() < 1e-12);
}

#[test]
fn react_clip_is_the_linear_quantile_of_all_entries() {
    // 1×5 features 1..5: the 0.75 quantile at position 3 is 4; at 0.9, position 3.6 → 4.6.
    let f = DMatrix::from_row_slice(1, 5, &[3.0, 1.0, 5.0, 2.0, 4.0]);
    let h = head(2, 5, 3);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let mut r = EnergyReact::new(0.9);
    fit(&mut r, &obs, &[0], &h);
    assert!((r.clip().unwrap() - 4.6).abs() < 1e-12);
}

#[test]
fn nan_features_give_typed_errors_for_every_score() {
    let (obs, labels, h) = train_set(30, 6, 3, 9);
    let mut bad = obs.clone();
    bad.features[(4, 2)] = f64::NAN;
    for kind in ScoreKind::ALL {
        let mut s = kind.build(2);
        let err = s
            .fit(&FitData {
                train: &bad,
                labels: &labels,
                head: &h,
            })
            .unwrap_err();
        assert!(
            matches!(err, RejectError::NonFinite { row: 4, .. }),
            "{kind:?}: {err}"
        );
        fit(s.as_mut(), &obs, &labels, &h);
        let mut q = obs.clone();
        q.logits[(1, 0)] = f64::NAN;
        q.features[(1, 0)] = f64::NAN;
        assert!(
            matches!(s.score(&q), Err(RejectError::NonFinite { row: 1, .. })),
            "{kind:?}"
        );
    }
}

#[test]
fn unfitted_scores_refuse_to_score() {
    let (obs, _, _) = train_set(5, 6, 3, 10);
    for kind in [
        ScoreKind::DeepKnn,
        ScoreKind::Mahalanobis,
        ScoreKind::Vim,
        ScoreKind::Pca,
    ] {
        assert!(kind.build(2).score(&obs).is_err(), "{kind:?}");
    }
}
