//! The metric invariants of competence-regions.md §5 PT-F2 and §6 items 6–8.

use flow_reject::metrics::{
    Threshold, aurc, aurc_oracle, aurc_oracle_limit, aurc_random, ausc, ausc_over_levels, curve,
    mix_open, quantile_accuracies, quintile_trend, safe_curve,
};
use proptest::prelude::*;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

fn correct_pattern(n: usize, m: usize, seed: u64) -> Vec<bool> {
    let mut c: Vec<bool> = (0..n).map(|i| i < m).collect();
    c.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    c
}

#[test]
fn random_score_aurc_is_the_error_rate() {
    let (n, m) = (300, 210);
    let correct = correct_pattern(n, m, 0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let vals: Vec<f64> = (0..200)
        .map(|_| {
            let s: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            aurc(&s, &correct).unwrap()
        })
        .collect();
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    let sd =
        (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (vals.len() - 1) as f64).sqrt();
    let se = sd / (vals.len() as f64).sqrt();
    let want = aurc_random(n, m);
    assert!((want - 0.3).abs() < 1e-15);
    // E[AURC] = 1 − acc exactly; the mean of 200 shuffles lies within 3 SE of it.
    assert!((mean - want).abs() < 3.0 * se, "{mean} vs {want} (se {se})");
    // A constant score is one tie group: the tie rule averages over orders, giving exactly it.
    assert!((aurc(&vec![0.5; n], &correct).unwrap() - want).abs() < 1e-12);
}

#[test]
fn oracle_aurc_equals_its_closed_form() {
    for (n, m) in [(10, 7), (100, 93), (1000, 500), (5, 0), (5, 5)] {
        let correct = correct_pattern(n, m, n as u64);
        // Oracle score: correct samples get lower scores.
        let s: Vec<f64> = correct
            .iter()
            .enumerate()
            .map(|(i, &c)| if c { i as f64 } else { 1e6 + i as f64 })
            .collect();
        let ours = aurc(&s, &correct).unwrap();
        let closed: f64 = ((m + 1)..=n)
            .map(|i| (i - m) as f64 / i as f64)
            .sum::<f64>()
            / n as f64;
        assert!((ours - closed).abs() < 1e-12 && (aurc_oracle(n, m) - closed).abs() < 1e-15);
        // No score does better than the oracle.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let r: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        assert!(aurc(&r, &correct).unwrap() >= closed - 1e-12);
        assert!((ausc(&s, &correct).unwrap() - (1.0 - ours)).abs() < 1e-15);
    }
    // Continuous limit (1 − a) + a ln a: the sum is a Riemann sum of ∫ (1 − a/c) dc, so the
    // gap is O(ln n / n); at n = 10⁵ it is below 1e-4.
    let n = 100_000;
    assert!((aurc_oracle(n, 80_000) - aurc_oracle_limit(0.8)).abs() < 1e-4);
}

proptest! {
    /// AURC does not depend on the order of the input, ties included.
    #[test]
    fn aurc_is_order_invariant(levels in prop::collection::vec(0u8..4, 2..40), seed in 0u64..1000) {
        let n = levels.len();
        let correct = correct_pattern(n, n / 2, seed);
        let s: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed + 1));
        let s2: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
        let c2: Vec<bool> = idx.iter().map(|&i| correct[i]).collect();
        prop_assert!((aurc(&s, &correct).unwrap() - aurc(&s2, &c2).unwrap()).abs() < 1e-12);
    }

    /// The curve is a step function with increasing coverage in (0, 1] ending at the overall
    /// accuracy.
    #[test]
    fn curve_invariants(levels in prop::collection::vec(0u8..6, 1..60), seed in 0u64..1000) {
        let n = levels.len();
        let correct = correct_pattern(n, n / 3, seed);
        let s: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
        let c = curve(&s, &correct).unwrap();
        prop_assert!(c.coverage.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(c.coverage[0] > 0.0 && (c.coverage.last().unwrap() - 1.0).abs() < 1e-15);
        let acc = (n / 3) as f64 / n as f64;
        prop_assert!((c.accuracy.last().unwrap() - acc).abs() < 1e-12);
    }
}

#[test]
fn thresholds_use_strict_less_than_and_reject_ties() {
    let val = [1.0, 2.0, 2.0, 2.0, 3.0];
    // ⌈0.4 · 5⌉ = 2 → t = sorted[2] = 2.0: only the 1.0 is accepted (ties at 2.0 rejected).
    let t = Threshold::at_quantile(&val, 0.4).unwrap();
    assert_eq!(t.value, 2.0);
    let rep = t.report(&val, &[true, true, false, false, false]).unwrap();
    assert_eq!(rep.accepted_fraction, 0.2);
    assert_eq!(rep.accepted_accuracy, 1.0);
    assert!((rep.rejected_accuracy - 0.25).abs() < 1e-15);
    assert!((rep.gain() - 0.6).abs() < 1e-15);
    // Level 1 accepts everything (t = +∞), level 0 nothing (t = min, strict).
    assert_eq!(
        Threshold::at_quantile(&val, 1.0).unwrap().value,
        f64::INFINITY
    );
    let t0 = Threshold::at_quantile(&val, 0.0).unwrap();
    assert_eq!(t0.report(&val, &[true; 5]).unwrap().accepted_fraction, 0.0);
    assert!(
        t0.report(&val, &[true; 5])
            .unwrap()
            .accepted_accuracy
            .is_nan()
    );
    // Distinct scores: exactly ⌈α n⌉ validation samples are accepted.
    let v: Vec<f64> = (0..200).map(|i| i as f64).collect();
    let t95 = Threshold::at_quantile(&v, 0.95).unwrap();
    assert_eq!(
        t95.report(&v, &[true; 200]).unwrap().accepted_fraction,
        0.95
    );
    // Bad input is a typed error.
    assert!(Threshold::at_quantile(&[], 0.5).is_err());
    assert!(Threshold::at_quantile(&[1.0, f64::NAN], 0.5).is_err());
    assert!(Threshold::at_quantile(&[1.0], 1.5).is_err());
}

#[test]
fn id_test_acceptance_at_95_is_binomial() {
    // Validation and test scores from the same distribution: the accepted test fraction is
    // 0.95 up to the binomial noise of both sets, sd = √(0.95 · 0.05 · (1/n_val + 1/n_test)).
    let (nv, nt) = (900, 1500);
    let sd = (0.95f64 * 0.05 * (1.0 / nv as f64 + 1.0 / nt as f64)).sqrt();
    let mut outside = 0;
    for seed in 0..20 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut draw =
            |n: usize| -> Vec<f64> { (0..n).map(|_| StandardNormal.sample(&mut rng)).collect() };
        let (val, test) = (draw(nv), draw(nt));
        let t = Threshold::at_quantile(&val, 0.95).unwrap();
        let frac = t.report(&test, &vec![true; nt]).unwrap().accepted_fraction;
        assert!((frac - 0.95).abs() < 4.0 * sd, "seed {seed}: {frac}");
        outside += usize::from((frac - 0.95).abs() > 2.0 * sd);
    }
    // About 5 % of 20 runs exceed 2 sd; 5 or more would mean a biased threshold (P < 0.003).
    assert!(outside < 5, "{outside} of 20 beyond 2 sd");
}

#[test]
fn quintile_accuracies_and_trend() {
    // Scores 0..10, the first 6 correct: bins of 2 → 1, 1, 1, 0, 0.
    let s: Vec<f64> = (0..10).map(|i| i as f64).collect();
    let c: Vec<bool> = (0..10).map(|i| i < 6).collect();
    let q = quantile_accuracies(&s, &c, 5).unwrap();
    assert_eq!(q, vec![1.0, 1.0, 1.0, 0.0, 0.0]);
    assert!(quintile_trend(&q) < -0.8);
    assert!((quintile_trend(&[0.9, 0.8, 0.7, 0.6, 0.5]) + 1.0).abs() < 1e-12);
    assert!(quantile_accuracies(&s[..3], &c[..3], 5).is_err());
}

#[test]
fn mix_open_inserts_the_requested_fraction_and_counts_unknowns_wrong() {
    let known: Vec<f64> = (0..80).map(|i| i as f64).collect();
    let correct = vec![true; 80];
    let pool: Vec<f64> = (0..50).map(|i| 1000.0 + i as f64).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mix = mix_open(&known, &correct, &pool, 0.2, &mut rng).unwrap();
    assert_eq!(mix.scores.len(), 100);
    assert_eq!(mix.unknown.iter().filter(|&&u| u).count(), 20);
    assert!(
        mix.unknown
            .iter()
            .zip(&mix.correct)
            .all(|(&u, &c)| !u || !c)
    );
    assert!(mix.scores[80..].iter().all(|&s| s >= 1000.0));
    // Too small a pool is a typed error.
    assert!(mix_open(&known, &correct, &pool[..10], 0.2, &mut rng).is_err());
}

#[test]
fn safe_curve_tracks_the_level_on_id_data_and_integrates_by_trapezoids() {
    // Target drawn like the validation set: coverage(α) ≈ α within binomial noise
    // (3 sd of two samples of 2000: 3 · √(α(1 − α) · 2/2000) ≤ 0.048).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let mut draw =
        |n: usize| -> Vec<f64> { (0..n).map(|_| StandardNormal.sample(&mut rng)).collect() };
    let (val, target) = (draw(2000), draw(2000));
    let correct: Vec<bool> = target.iter().map(|&s| s < 0.0).collect();
    let g = safe_curve(&val, &target, &correct, 20).unwrap();
    for p in &g {
        assert!((p.coverage - p.level).abs() < 0.048, "{p:?}");
    }
    assert_eq!(g.last().unwrap().coverage, 1.0);
    // Accuracy is 1 while S_α holds only negative scores (α ≤ 0.5 up to noise), then falls
    // as 0.5/α: the area is ∫₀^½ 1 + ∫_½^1 ½/α dα = ½ + ½ ln 2 minus the trapezoid's first
    // missing panel [0, 0.05] (accuracy 1): 0.8466 − 0.05. Tolerance: sampling noise of the
    // curve (~0.01) plus the trapezoid error of the convex part (< 0.002).
    let area = ausc_over_levels(&g);
    let want = 0.5 + 0.5 * 2f64.ln() - 0.05;
    assert!((area - want).abs() < 0.02, "{area} vs {want}");
}
