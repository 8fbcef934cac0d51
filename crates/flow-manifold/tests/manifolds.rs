//! Invariants of the manifolds (note §9, tests 1–3, 10): projections, tangent projections,
//! bases, exp/log/distance, uniform samplers, SO(3) determinant fixes.

use flow_core::{DType, Tensor, jvp};
use flow_manifold::{DetFix, Manifold, SpecialOrthogonal, Sphere, Torus, rotation_angles};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn manifolds() -> Vec<Box<dyn Manifold>> {
    vec![
        Box::new(Sphere::new(1)),
        Box::new(Sphere::new(2)),
        Box::new(Sphere::new(4)),
        Box::new(Torus::new(1)),
        Box::new(Torus::new(3)),
        Box::new(SpecialOrthogonal::new(DetFix::SmallestSingular)),
        Box::new(SpecialOrthogonal::new(DetFix::LastColumn)),
    ]
}

fn max_abs(t: &Tensor) -> f64 {
    t.to_vec_f64().iter().fold(0.0, |a, b| a.max(b.abs()))
}

/// Round-off tolerance: f64 ops on O(1) values; the SO(3) Newton iteration adds ~1e-13.
const TOL: f64 = 1e-9;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn projection_is_idempotent_and_lands_on_m(seed in 0u64..10_000) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for m in manifolds() {
            let x = Tensor::randn(&[8, m.ambient_dim()], DType::F64, &mut rng).mul_scalar(2.0);
            let p = m.project(&x);
            prop_assert!(max_abs(&m.distance_to_manifold(&p)) < TOL, "{}", m.name());
            prop_assert!(max_abs(&m.project(&p).sub(&p)) < TOL, "{}", m.name());
        }
    }

    #[test]
    fn tangent_projection_is_orthogonal_idempotent_projector(seed in 0u64..10_000) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for m in manifolds() {
            let x = m.sample_uniform(6, DType::F64, &mut rng);
            let (v, w) = (
                Tensor::randn(x.shape(), DType::F64, &mut rng),
                Tensor::randn(x.shape(), DType::F64, &mut rng),
            );
            let pv = m.to_tangent(&x, &v);
            prop_assert!(max_abs(&m.to_tangent(&x, &pv).sub(&pv)) < TOL, "idempotent {}", m.name());
            // Self-adjoint: ⟨Pv, w⟩ = ⟨v, Pw⟩ (orthogonal projector), so v − Pv ⟂ T_xM.
            let a = pv.mul(&w).sum_per_sample();
            let b = v.mul(&m.to_tangent(&x, &w)).sum_per_sample();
            prop_assert!(max_abs(&a.sub(&b)) < TOL, "symmetric {}", m.name());
        }
    }

    #[test]
    fn tangent_basis_is_orthonormal_and_tangent(seed in 0u64..10_000) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for m in manifolds() {
            let x = m.sample_uniform(4, DType::F64, &mut rng);
            let q = m.tangent_basis(&x, &mut rng); // [b, m, n]
            let gram = q.t().matmul(&q);
            let eye = Tensor::eye(m.dim(), DType::F64);
            prop_assert!(max_abs(&gram.sub(&eye)) < TOL, "QᵀQ {}", m.name());
            for j in 0..m.dim() {
                let col = q.narrow(2, j, 1).reshape(&[4, m.ambient_dim()]);
                prop_assert!(max_abs(&m.to_tangent(&x, &col).sub(&col)) < TOL, "tangent {}", m.name());
            }
        }
    }

    #[test]
    fn exp_log_are_inverse_and_match_distance(seed in 0u64..10_000) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for m in manifolds() {
            let x = m.sample_uniform(6, DType::F64, &mut rng);
            // Tangent vectors of norm ≤ 1.5 < injectivity radius (π on S^n, SO(3), T^k).
            let v = m.to_tangent(&x, &Tensor::randn(x.shape(), DType::F64, &mut rng));
            let norms = m.tangent_norm(&x, &v).to_vec_f64();
            let scale: Vec<f64> = norms.iter().map(|n| 1.5 / n.max(1.0)).collect();
            let v = v.mul(&Tensor::from_vec(scale, &[6, 1]));
            let y = m.exp(&x, &v);
            prop_assert!(max_abs(&m.distance_to_manifold(&y)) < TOL, "exp on M {}", m.name());
            let back = m.log(&x, &y);
            prop_assert!(max_abs(&back.sub(&v)) < 1e-8, "log∘exp {}", m.name());
            let d = m.dist(&x, &y);
            let n = m.tangent_norm(&x, &v);
            prop_assert!(max_abs(&d.sub(&n)) < 1e-8, "dist = ‖v‖ {}", m.name());
            prop_assert!(max_abs(&m.dist(&y, &x).sub(&d)) < 1e-8, "symmetric {}", m.name());
        }
    }
}

#[test]
fn sphere_projection_jvp_matches_formula() {
    // J_π(x) = (I − x̂x̂ᵀ)/‖x‖ (note §9 test 2).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let s = Sphere::new(2);
    let x = Tensor::randn(&[5, 3], DType::F64, &mut rng);
    let v = Tensor::randn(&[5, 3], DType::F64, &mut rng);
    let (_, jv) = jvp(|u: &Tensor| s.project(u), &x, &v);
    let r = x.norm(1, true);
    let xh = x.div(&r);
    let expect = v.sub(&xh.mul(&v.mul(&xh).sum_axis(1, true))).div(&r);
    assert!(max_abs(&jv.sub(&expect)) < 1e-12);
}

#[test]
fn so3_projection_gradient_matches_finite_differences() {
    // The unrolled Newton polar iteration (ζ detached) has the polar factor's derivative.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let so3 = SpecialOrthogonal::default();
    let x = Tensor::randn(&[1, 9], DType::F64, &mut rng)
        .add(&Tensor::eye(3, DType::F64).reshape(&[1, 9]).mul_scalar(2.0));
    let w = Tensor::randn(&[1, 9], DType::F64, &mut rng);
    let check = flow_core::testing::GradCheck {
        order: 1,
        ..Default::default()
    };
    let report = check
        .run(&|u: &[Tensor]| so3.project(&u[0]).mul(&w).sum_all(), &[x])
        .expect("polar projection gradient");
    assert!(report.jvp_error < 1e-6);
    // And the sphere and torus projections to second order.
    let y = Tensor::randn(&[3, 6], DType::F64, &mut rng);
    flow_core::testing::check_grads(
        &|u: &[Tensor]| Torus::new(3).project(&u[0]),
        std::slice::from_ref(&y),
    );
    flow_core::testing::check_grads(&|u: &[Tensor]| Sphere::new(5).project(&u[0]), &[y]);
}

#[test]
fn so3_projection_gives_rotations_and_closest_fix() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    for fix in [DetFix::SmallestSingular, DetFix::LastColumn] {
        let so3 = SpecialOrthogonal::new(fix);
        let x = Tensor::randn(&[64, 9], DType::F64, &mut rng);
        let r = so3.project(&x).reshape(&[64, 3, 3]);
        let (sign, logabs) = r.slogdet();
        assert!(
            sign.to_vec_f64().iter().all(|s| *s == 1.0),
            "{fix:?}: det +1"
        );
        assert!(max_abs(&logabs) < 1e-10, "{fix:?}: |det| = 1");
        assert!(max_abs(&r.t().matmul(&r).sub(&Tensor::eye(3, DType::F64))) < 1e-10);
    }
    // The SVD fix is the closest rotation: never farther from M than the last-column flip.
    let x = Tensor::randn(&[256, 9], DType::F64, &mut rng);
    let d_svd = x
        .sub(&SpecialOrthogonal::new(DetFix::SmallestSingular).project(&x))
        .square()
        .sum_per_sample();
    let d_col = x
        .sub(&SpecialOrthogonal::new(DetFix::LastColumn).project(&x))
        .square()
        .sum_per_sample();
    assert!(
        d_svd
            .to_vec_f64()
            .iter()
            .zip(d_col.to_vec_f64())
            .all(|(a, b)| *a <= b + 1e-10)
    );
}

#[test]
fn so3_tangent_formulas_agree() {
    // R·skew(RᵀV) = ½(V − R Vᵀ R).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let so3 = SpecialOrthogonal::default();
    let r = so3.sample_uniform(8, DType::F64, &mut rng);
    let v = Tensor::randn(&[8, 9], DType::F64, &mut rng);
    let (rm, vm) = (r.reshape(&[8, 3, 3]), v.reshape(&[8, 3, 3]));
    let a = rm.t().matmul(&vm);
    let skew = a.sub(&a.t()).mul_scalar(0.5);
    let expect = rm.matmul(&skew).reshape(&[8, 9]);
    assert!(max_abs(&so3.to_tangent(&r, &v).sub(&expect)) < 1e-12);
}

fn mean_rows(x: &Tensor) -> Vec<f64> {
    x.mean_axis(0, false).to_vec_f64()
}

#[test]
fn uniform_samplers_match_moments() {
    // n = 40000 draws: the standard error of a coordinate mean is ≤ 1/√n = 0.005; 5 SE bands.
    let n = 40_000;
    let band = 5.0 / (n as f64).sqrt();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let s = Sphere::new(2).sample_uniform(n, DType::F64, &mut rng);
    assert!(mean_rows(&s).iter().all(|m| m.abs() < band));
    let second = mean_rows(&s.square());
    assert!(
        second.iter().all(|m| (m - 1.0 / 3.0).abs() < band),
        "E[x_i²] = 1/3: {second:?}"
    );
    let t = Torus::new(2).sample_uniform(n, DType::F64, &mut rng);
    assert!(mean_rows(&t).iter().all(|m| m.abs() < 2.0 * band));
    let so3 = SpecialOrthogonal::default();
    let r = so3.sample_uniform(n, DType::F64, &mut rng);
    assert!(mean_rows(&r).iter().all(|m| m.abs() < band), "E[R] = 0");
    // Haar angle density (1 − cos θ)/π: E[θ] = π/2 + 2/π, sd ≈ 0.64.
    let theta = rotation_angles(&r);
    let mean_theta = theta.iter().sum::<f64>() / n as f64;
    let expect = std::f64::consts::FRAC_PI_2 + 2.0 / std::f64::consts::PI;
    assert!(
        (mean_theta - expect).abs() < 5.0 * 0.64 / (n as f64).sqrt(),
        "{mean_theta} vs {expect}"
    );
    // Left invariance: R₀R has the same angle distribution's mean of tr = 0.
    let r0 = so3.sample_uniform(1, DType::F64, &mut rng).reshape(&[3, 3]);
    let rotated = r
        .reshape(&[n, 3, 3])
        .t()
        .matmul(&r0.t())
        .t()
        .reshape(&[n, 9]);
    assert!(mean_rows(&rotated).iter().all(|m| m.abs() < band));
}

#[test]
fn log_volumes_are_the_known_constants() {
    use std::f64::consts::PI;
    assert!((Sphere::new(1).log_volume() - (2.0 * PI).ln()).abs() < 1e-12);
    assert!((Sphere::new(2).log_volume() - (4.0 * PI).ln()).abs() < 1e-12);
    // vol(S³) = 2π², vol(S⁴) = 8π²/3.
    assert!((Sphere::new(3).log_volume() - (2.0 * PI * PI).ln()).abs() < 1e-12);
    assert!((Sphere::new(4).log_volume() - (8.0 * PI * PI / 3.0).ln()).abs() < 1e-12);
    assert!((Torus::new(7).log_volume() - 7.0 * (2.0 * PI).ln()).abs() < 1e-12);
    assert!((SpecialOrthogonal::default().log_volume() - (8.0 * PI * PI).ln()).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn poincare_projection_exp_log_and_distance(seed in 0u64..10_000) {
        use flow_manifold::PoincareBall;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for n in [2usize, 3] {
            let b = PoincareBall::new(n);
            // π lands strictly inside the ball and is idempotent.
            let big = Tensor::randn(&[8, n], DType::F64, &mut rng).mul_scalar(2.0);
            let p = b.project(&big);
            prop_assert!(p.norm(1, false).to_vec_f64().iter().all(|r| *r < 1.0));
            prop_assert!(max_abs(&b.project(&p).sub(&p)) < TOL);
            // Points of chart radius ≤ 0.6 and tangent vectors of Riemannian norm ≤ 2.
            let x = Tensor::randn(&[8, n], DType::F64, &mut rng);
            let x = x.div(&x.norm(1, true)).mul(&Tensor::rand_uniform(&[8, 1], 0.0, 0.6, DType::F64, &mut rng));
            let v = Tensor::randn(&[8, n], DType::F64, &mut rng).mul_scalar(0.3);
            let y = b.exp(&x, &v);
            prop_assert!(max_abs(&b.log(&x, &y).sub(&v)) < 1e-8);
            prop_assert!(max_abs(&b.dist(&x, &y).sub(&b.tangent_norm(&x, &v))) < 1e-8);
        }
    }
}

#[test]
fn poincare_metric_log_det_is_2n_log_lambda() {
    use flow_manifold::PoincareBall;
    let x = Tensor::from_slice(&[0.3f64, -0.4, 0.1, 0.0, 0.0, 0.9], &[2, 3]);
    let got = PoincareBall::new(3).log_metric_det(&x).to_vec_f64();
    for (row, g) in [0.26f64, 0.81].iter().zip(got) {
        let lambda = 2.0 / (1.0 - row);
        assert!((g - 6.0 * lambda.ln()).abs() < 1e-12);
    }
}

#[test]
fn so3_mixture_samples_are_rotations_concentrated_like_kappa() {
    // With V = μ Ω, Ω = κ^{−1/2} skew(ε)/√2, the angle of μᵀx is κ^{−1/2}‖ε‖/√2 (the
    // bi-invariant norm of the unit-Frobenius basis), so E[θ√κ] = E‖ε‖/√2 = 2/√π ≈ 1.128.
    // 20000 draws: SE ≈ 0.0034; band 5 SE.
    use flow_manifold::So3Mixture;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
    let so3 = SpecialOrthogonal::default();
    let mut mix = So3Mixture::random(1, &mut rng);
    mix.kappas = vec![400.0];
    let n = 20_000;
    let x = mix.sample(n, &mut rng);
    assert!(max_abs(&so3.distance_to_manifold(&x)) < 1e-10);
    let d = so3.dist(&mix.means.broadcast_to(&[n, 9]), &x).to_vec_f64();
    let mean = d.iter().map(|t| t * 20.0).sum::<f64>() / n as f64;
    let expect = 2.0 / std::f64::consts::PI.sqrt();
    assert!(
        (mean - expect).abs() < 5.0 * 0.48 / (n as f64).sqrt(),
        "{mean} vs {expect}"
    );
}

#[test]
#[should_panic(expected = "[batch, 3] for S^2")]
fn shape_mismatch_panics_naming_the_manifold() {
    Sphere::new(2).project(&Tensor::zeros(&[2, 4], DType::F64));
}
