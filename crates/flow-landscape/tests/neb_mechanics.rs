//! NEB mechanics (paper note §5, tests 1–4): projected force, re-spacing, improved tangent,
//! `highest` insertion, fixed ends, NaN handling.

use flow_landscape::neb::{DenseProfile, Path, insert_highest, neb_gradient};
use flow_landscape::{
    AutoNebConfig, CurvyValley, Landscape, LandscapeError, TangentForm, autoneb, dot,
    improved_tangent, norm,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn vec_strategy(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-3.0f64..3.0, n)
}

proptest! {
    #[test]
    fn projected_force_is_orthogonal_to_tangent(
        g in vec_strategy(6), a in vec_strategy(6), b in vec_strategy(6), c in vec_strategy(6),
        l in prop::array::uniform3(-1.0f64..1.0),
    ) {
        let tau = improved_tangent(&a, &b, &c, l, TangentForm::HenkelmanJonsson);
        prop_assume!(norm(&tau) > 0.5);
        let out = neb_gradient(&g, &b, &tau, 1e-2, None, (1.0, 1.0), (1.0, 1.0));
        // Round-off of one projection: |g·τ| ≲ n·ε·‖g‖, far below 1e-12 for ‖g‖ ≲ 10.
        prop_assert!(dot(&out, &tau).abs() < 1e-12, "g·τ = {}", dot(&out, &tau));
        prop_assert!((norm(&tau) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn redistribution_keeps_ends_and_reaches_target_spacing(
        pts in prop::collection::vec(vec_strategy(3), 4..8),
        raw_w in prop::collection::vec(0.1f64..1.0, 7),
    ) {
        let n = pts.len();
        let weights: Vec<f64> = raw_w[..n - 1].to_vec();
        let wsum: f64 = weights.iter().sum();
        let weights: Vec<f64> = weights.iter().map(|w| w / wsum).collect();
        let mut p = Path { pivots: pts.clone(), weights: weights.clone() };
        let old = p.clone();
        let total: f64 = old.segment_lengths().iter().sum();
        prop_assume!(old.segment_lengths().iter().all(|l| *l > 1e-3));
        p.redistribute();
        prop_assert_eq!(&p.pivots[0], &pts[0]);
        prop_assert_eq!(&p.pivots[n - 1], &pts[n - 1]);
        // Each new pivot sits on the old polyline at arc length Σ_{j<i} w_j · total.
        let mut target = 0.0;
        for i in 1..n - 1 {
            target += weights[i - 1] * total;
            let s = arc_position(&old, &p.pivots[i]);
            prop_assert!((s - target).abs() < 1e-9 * total.max(1.0), "pivot {}: {} vs {}", i, s, target);
        }
        // Already at the target spacing: re-spacing again changes nothing (to round-off).
        let mut q = p.clone();
        q.weights = q.segment_lengths();
        let before = q.clone();
        q.redistribute();
        for (a, b) in q.pivots.iter().zip(&before.pivots) {
            prop_assert!(flow_landscape::neb::distance(a, b) < 1e-9);
        }
    }
}

/// Arc-length position of a point on a polyline (the point must lie on it to ~1e-9).
fn arc_position(path: &Path, x: &[f64]) -> f64 {
    let mut start = 0.0;
    let mut best = (f64::INFINITY, 0.0);
    for w in path.pivots.windows(2) {
        let d: Vec<f64> = w[1].iter().zip(&w[0]).map(|(a, b)| a - b).collect();
        let len = norm(&d);
        let r: Vec<f64> = x.iter().zip(&w[0]).map(|(a, b)| a - b).collect();
        let t = (dot(&r, &d) / (len * len)).clamp(0.0, 1.0);
        let off = flow_landscape::neb::distance(&flow_landscape::neb::lerp(&w[0], &w[1], t), x);
        if off < best.0 {
            best = (off, start + t * len);
        }
        start += len;
    }
    assert!(best.0 < 1e-9, "point is {} off the polyline", best.0);
    best.1
}

#[test]
fn straight_path_spacing_equals_weights() {
    let mut p = Path {
        pivots: vec![
            vec![0.0, 0.0],
            vec![0.5, 0.0],
            vec![3.5, 0.0],
            vec![4.0, 0.0],
        ],
        weights: vec![0.25, 0.25, 0.5],
    };
    p.redistribute();
    let l = p.segment_lengths();
    for (li, w) in l.iter().zip(&p.weights) {
        assert!((li - w * 4.0).abs() < 1e-12);
    }
}

#[test]
fn tangent_at_monotone_pivots_is_the_chord_toward_the_higher_neighbour() {
    let (a, b, c) = ([0.0, 0.0], [2.0, 0.0], [2.0, 3.0]);
    let up = improved_tangent(&a, &b, &c, [0.0, 1.0, 2.0], TangentForm::HenkelmanJonsson);
    assert_eq!(up, vec![0.0, 1.0]); // (c − b)/‖c − b‖
    let down = improved_tangent(&a, &b, &c, [2.0, 1.0, 0.0], TangentForm::OfficialRepo);
    assert_eq!(down, vec![1.0, 0.0]); // (b − a)/‖b − a‖
}

#[test]
fn tangent_at_extremum_blends_by_energy_differences() {
    // Maximum at b: L = [1, 3, 0] → ΔV_max = 3 (toward c), ΔV_min = 2 (toward a); the prev
    // neighbour is higher, so eq. 10 gives τ ∝ ΔV_min τ⁺ + ΔV_max τ⁻ = 2·(0,1) + 3·(1,0).
    let (a, b, c) = ([0.0, 0.0], [1.0, 0.0], [1.0, 1.0]);
    let hj = improved_tangent(&a, &b, &c, [1.0, 3.0, 0.0], TangentForm::HenkelmanJonsson);
    let s = 13f64.sqrt();
    assert!((hj[0] - 3.0 / s).abs() < 1e-15 && (hj[1] - 2.0 / s).abs() < 1e-15);
    // The repository form swaps the weights.
    let repo = improved_tangent(&a, &b, &c, [1.0, 3.0, 0.0], TangentForm::OfficialRepo);
    assert!((repo[0] - 2.0 / s).abs() < 1e-15 && (repo[1] - 3.0 / s).abs() < 1e-15);
}

#[test]
fn highest_inserts_at_the_bump_and_splits_the_weight() {
    let mut p = Path::linear(vec![0.0], vec![3.0]);
    p.insert_equal(2); // pivots at 0, 1, 2, 3
    // A bump of height 1 at x = 1.7 (segment 1, α = 0.7 — a sub-point with sub = 9).
    let f = |t: &[f64]| {
        if (t[0] - 1.7).abs() < 1e-9 {
            1.0
        } else {
            0.1 * t[0]
        }
    };
    let d = DenseProfile::evaluate(&p, 9, f);
    let chosen = insert_highest(&mut p, &d, 2, 0.1);
    assert_eq!(chosen, vec![1]);
    assert_eq!(p.len(), 5);
    assert!((p.pivots[2][0] - 1.7).abs() < 1e-12);
    assert!((p.weights[1] - 0.7 / 3.0).abs() < 1e-12 && (p.weights[2] - 0.3 / 3.0).abs() < 1e-12);
    // Linear losses only: every score is 0 < 0.1, nothing inserted.
    let flat = DenseProfile::evaluate(&p, 9, |t| t[0]);
    assert!(insert_highest(&mut p, &flat, 2, 0.1).is_empty());
}

#[test]
fn ends_stay_fixed_and_barrier_is_nonnegative() {
    let e = CurvyValley::default();
    let [a, b] = e.minima();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let out = autoneb(
        &e,
        Path::linear(a.to_vec(), b.to_vec()),
        &AutoNebConfig::standard(3, 1, 20, 1e-3),
        &mut rng,
    )
    .unwrap();
    assert_eq!(out.path.pivots[0], a.to_vec());
    assert_eq!(out.path.pivots.last().unwrap(), &b.to_vec());
    assert!(out.cycles.iter().all(|c| c.barrier >= 0.0));
}

/// A surface that is NaN for x > 1 (a diverged region).
struct Poisoned;
impl Landscape for Poisoned {
    fn dim(&self) -> usize {
        1
    }
    fn loss(&self, t: &[f64]) -> f64 {
        if t[0] > 1.0 { f64::NAN } else { t[0] * t[0] }
    }
    fn loss_and_grad(&self, t: &[f64]) -> (f64, Vec<f64>) {
        (self.loss(t), vec![2.0 * t[0]])
    }
}

#[test]
fn nan_loss_on_a_pivot_stops_with_its_index() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let err = autoneb(
        &Poisoned,
        Path::linear(vec![0.0], vec![1.0]),
        &AutoNebConfig::standard(3, 0, 5, 0.0),
        &mut rng,
    );
    // Pivots at 0, .25, .5, .75, 1: all finite.
    assert!(err.is_ok());
    let mut p = Path::linear(vec![-1.0], vec![0.9]);
    p.insert_equal(1);
    p.pivots[1] = vec![1.5]; // off the polyline, into the NaN region
    let mut cfg = AutoNebConfig::standard(0, 0, 3, 0.0);
    cfg.spring = Some(1.0); // no re-spacing, so the pivot stays at 1.5
    cfg.cycles[0].insert = flow_landscape::Insertion::None;
    match autoneb(&Poisoned, p, &cfg, &mut rng) {
        Err(LandscapeError::NonFiniteLoss {
            pivot, cycle, step, ..
        }) => {
            assert_eq!((pivot, cycle, step), (1, 0, 0));
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
}

/// A constant surface: only the spring acts.
struct Flat;
impl Landscape for Flat {
    fn dim(&self) -> usize {
        2
    }
    fn loss(&self, _: &[f64]) -> f64 {
        0.0
    }
    fn loss_and_grad(&self, _: &[f64]) -> (f64, Vec<f64>) {
        (0.0, vec![0.0, 0.0])
    }
}

#[test]
fn finite_spring_evens_out_the_spacing() {
    // Pivots bunched toward the start of a straight path; equal target weights. The spring
    // force k((d_i − d*_i) − (d_{i−1} − d*_{i−1}))τ moves them toward equal spacing (a sign
    // error would bunch them further).
    let mut p = Path::linear(vec![0.0, 0.0], vec![4.0, 0.0]);
    p.insert_equal(3);
    p.pivots[1][0] = 0.2;
    p.pivots[2][0] = 0.5;
    p.pivots[3][0] = 1.0;
    let mut cfg = AutoNebConfig::standard(0, 0, 500, 0.05);
    cfg.cycles[0].insert = flow_landscape::Insertion::None;
    cfg.spring = Some(1.0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let out = autoneb(&Flat, p, &cfg, &mut rng).unwrap();
    for l in out.path.segment_lengths() {
        assert!(
            (l - 1.0).abs() < 1e-3,
            "lengths {:?}",
            out.path.segment_lengths()
        );
    }
}
