//! Analytic oracles (paper note §4 QB-E2/E3, §5 tests 5–6): AutoNEB reaches the known saddle
//! energies of CurvyValley (1) and Eggcarton (0); the straight path does not.

use flow_landscape::{
    AutoNebConfig, CurvyValley, DenseProfile, Eggcarton, Landscape, Path, autoneb,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// Tolerance on the saddle energy. Undershoot: the dense samples lie on the path within
/// `Δ ≈ 0.2` of the saddle and the negative curvature there is `|λ_min| ≈ 0.033` (CurvyValley),
/// so a miss costs at most `|λ_min|Δ²/2 < 1e-3`. Overshoot: after 4 short cycles the path
/// sits near, not on, the minimum-energy path; 0.05 is 2.5 % of the barrier of 2 above the
/// minima, and the linear path misses by ≈ 1.98 (CurvyValley) and 2 (Eggcarton).
const TOL: f64 = 0.05;

#[test]
fn curvy_valley_oracle_facts() {
    let e = CurvyValley::default();
    for m in e.minima() {
        assert!(e.loss(&m).abs() < 1e-12);
        assert!(e.loss_and_grad(&m).1.iter().all(|g| g.abs() < 1e-12));
    }
    let h = e.hessian(&[0.0, 0.0]);
    assert!((e.loss(&[0.0, 0.0]) - 1.0).abs() < 1e-15);
    assert!(
        h[0] * h[3] - h[1] * h[2] < 0.0,
        "(0,0) is an index-1 saddle"
    );
    // The analytic Hessian agrees with finite differences of the analytic gradient.
    let fd = flow_landscape::fd_hvp(&e, &[0.3, -0.2], &[0.6, 0.8]);
    let ex = e.hvp(&[0.3, -0.2], &[0.6, 0.8]);
    assert!(fd.iter().zip(&ex).all(|(a, b)| (a - b).abs() < 1e-7));
}

#[test]
fn curvy_valley_linear_path_matches_closed_form_maximum() {
    let e = CurvyValley::default();
    let [a, b] = e.minima();
    let x0 = e.x0();
    let beta = 1.0 / (2.0 * x0 * x0);
    // On y = x/x₀: f(x) = (x/x₀ − sin x)² + 4β(βx⁴ − x²) + 1; maximise on a fine grid.
    let f = |x: f64| (x / x0 - x.sin()).powi(2) + 4.0 * beta * (beta * x.powi(4) - x * x) + 1.0;
    let best = (0..=200_000)
        .map(|k| f(-x0 + 2.0 * x0 * k as f64 / 200_000.0))
        .fold(f64::NEG_INFINITY, f64::max);
    assert!((best - 2.977).abs() < 1e-3, "closed-form max {best}");
    let dense = DenseProfile::evaluate(&Path::linear(a.to_vec(), b.to_vec()), 999, |t| e.loss(t));
    // 1000 samples over a length of ≈16 give spacing 0.016; the peak's curvature ≈ 2 bounds
    // the sampling miss by 2·0.008²/2 < 1e-4.
    assert!((dense.saddle() - best).abs() < 1e-4);
    assert!(dense.saddle() > CurvyValley::SADDLE + 1.9);
}

#[test]
fn autoneb_finds_curvy_valley_saddle() {
    let e = CurvyValley::default();
    let [a, b] = e.minima();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let cfg = AutoNebConfig::standard(3, 3, 100, 1e-2);
    let out = autoneb(&e, Path::linear(a.to_vec(), b.to_vec()), &cfg, &mut rng).unwrap();
    let s = out.saddle();
    assert!(
        (s - CurvyValley::SADDLE).abs() < TOL,
        "saddle {s}, cycles {:?}",
        out.cycles
    );
    // Every path crosses x = 0 where E ≥ 1: no sample may undershoot beyond round-off.
    assert!(out.cycles.iter().all(|c| c.saddle > 1.0 - 1e-3));
}

#[test]
fn autoneb_finds_eggcarton_saddle_from_noisy_start() {
    let [a, b] = Eggcarton.minima();
    let linear = DenseProfile::evaluate(&Path::linear(a.to_vec(), b.to_vec()), 9, |t| {
        Eggcarton.loss(t)
    });
    assert!((linear.saddle() - 2.0).abs() < 1e-12);
    let mut cfg = AutoNebConfig::standard(3, 3, 200, 1e-3);
    cfg.init_noise = 1e-2;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let out = autoneb(
        &Eggcarton,
        Path::linear(a.to_vec(), b.to_vec()),
        &cfg,
        &mut rng,
    )
    .unwrap();
    let s = out.saddle();
    assert!(
        (s - Eggcarton::SADDLE).abs() < TOL,
        "saddle {s}, cycles {:?}",
        out.cycles
    );
}

#[test]
fn eggcarton_pivots_on_the_diagonal_never_leave_it() {
    let [a, b] = Eggcarton.minima();
    let cfg = AutoNebConfig::standard(3, 1, 200, 1e-3); // no noise
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let out = autoneb(
        &Eggcarton,
        Path::linear(a.to_vec(), b.to_vec()),
        &cfg,
        &mut rng,
    )
    .unwrap();
    assert!((out.saddle() - 2.0).abs() < 1e-9, "saddle {}", out.saddle());
}
