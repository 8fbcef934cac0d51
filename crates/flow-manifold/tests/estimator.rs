//! The tangent Hutchinson estimator and the manifold log-det (note §9, tests 4, 5, 8, 9).

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor, grad};
use flow_freeform::Network;
use flow_manifold::{
    Manifold, ManifoldFlow, SpecialOrthogonal, Sphere, TangentScale, Uniform, manifold_log_det,
    tangent_hutchinson, tangent_surrogate,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::rc::Rc;

/// `x ↦ A x` (or `A⁻¹ x` when `inverse`) row-wise, with A a shared parameter.
struct LinearNet {
    a: Param,
    inverse: bool,
}

impl Module for LinearNet {
    fn parameters(&self) -> Vec<Param> {
        if self.inverse {
            vec![]
        } else {
            vec![self.a.clone()]
        }
    }
}

impl Network for LinearNet {
    fn forward(&self, x: &Tensor, _c: Option<&Tensor>) -> Tensor {
        let a = self.a.get();
        let a = if self.inverse { a.inverse() } else { a };
        x.matmul_transposed(&a)
    }
    fn input_dim(&self) -> usize {
        self.a.shape()[0]
    }
    fn output_dim(&self) -> usize {
        self.a.shape()[0]
    }
}

fn linear_flow(a: &Tensor) -> (ManifoldFlow, Param) {
    let s: Rc<dyn Manifold> = Rc::new(Sphere::new(a.dim(0) - 1));
    let p = Param::new("A", a.clone());
    let enc = LinearNet {
        a: p.clone(),
        inverse: false,
    };
    let dec = LinearNet {
        a: p.clone(),
        inverse: true,
    };
    let flow = ManifoldFlow::new(
        s.clone(),
        Box::new(enc),
        Box::new(dec),
        Box::new(Uniform::new(s)),
    );
    (flow, p)
}

fn test_matrix(d: usize, rng: &mut Xoshiro256PlusPlus) -> Tensor {
    Tensor::eye(d, DType::F64).add(&Tensor::randn(&[d, d], DType::F64, rng).mul_scalar(0.3))
}

#[test]
fn log_det_of_projected_linear_map_is_analytic() {
    // f(x) = Ax/‖Ax‖ on S^{d−1}: log|det(Rᵀ J Q)| = log|det A| − d log‖Ax‖ (random bases).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for d in [2, 3, 5] {
        let s = Sphere::new(d - 1);
        let a = test_matrix(d, &mut rng);
        let x = s.sample_uniform(16, DType::F64, &mut rng);
        let f = |u: &Tensor| s.project(&u.matmul_transposed(&a));
        let lv = manifold_log_det(&s, &f, &x, &f(&x), 5, &mut rng).to_vec_f64();
        let log_det_a = a.slogdet().1.item();
        let norms = x.matmul_transposed(&a).norm(1, false).to_vec_f64();
        for (l, n) in lv.iter().zip(norms) {
            assert!(
                (l - (log_det_a - d as f64 * n.ln())).abs() < 1e-10,
                "d = {d}"
            );
        }
    }
}

#[test]
fn isometries_have_zero_log_det() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let so3 = SpecialOrthogonal::default();
    let r0 = so3.sample_uniform(1, DType::F64, &mut rng).reshape(&[3, 3]);
    let x = so3.sample_uniform(8, DType::F64, &mut rng);
    // R₀U = (UᵀR₀ᵀ)ᵀ (the batched product takes the shared matrix on the right).
    let left = |u: &Tensor| {
        let b = u.dim(0);
        u.reshape(&[b, 3, 3])
            .t()
            .matmul(&r0.t())
            .t()
            .reshape(&[b, 9])
    };
    let lv = manifold_log_det(&so3, &left, &x, &left(&x), 8, &mut rng);
    assert!(lv.to_vec_f64().iter().all(|l| l.abs() < 1e-10));
    let s = Sphere::new(2);
    let x = s.sample_uniform(8, DType::F64, &mut rng);
    let rot = |u: &Tensor| u.matmul_transposed(&r0);
    let lv = manifold_log_det(&s, &rot, &x, &rot(&x), 8, &mut rng);
    assert!(lv.to_vec_f64().iter().all(|l| l.abs() < 1e-10));
}

#[test]
fn tangent_vectors_have_the_documented_second_moment() {
    // E[vvᵀ] = P_T (√n) or (m/n) P_T (√m) at a fixed z on S², from 20000 draws; the entries
    // of vvᵀ are bounded by m, so the SE of each mean is ≤ 3/√20000 ≈ 0.02; band 0.1.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let s = Sphere::new(2);
    let z0 = s.sample_uniform(1, DType::F64, &mut rng);
    let n = 20_000;
    let z = z0.broadcast_to(&[n, 3]);
    let p = Tensor::eye(3, DType::F64).sub(&z0.t().matmul(&z0));
    for (scale, factor) in [(TangentScale::Intrinsic, 1.0), (TangentScale::Ambient, 1.5)] {
        let v = tangent_hutchinson(&s, &z, scale, &mut rng);
        let second = v.t().matmul(&v).mul_scalar(1.0 / n as f64);
        let err = second.sub(&p.mul_scalar(factor)).abs().to_vec_f64();
        assert!(err.iter().all(|e| *e < 0.1), "{scale:?}: {err:?}");
        // Unbiased for the tangent-restricted trace of a linear map: mean vᵀAv → tr(PAP).
        let a = Tensor::randn(&[3, 3], DType::F64, &mut rng);
        let quad = v
            .matmul_transposed(&a)
            .mul(&v)
            .sum_per_sample()
            .to_vec_f64();
        let mean = quad.iter().sum::<f64>() / n as f64;
        let sd = (quad.iter().map(|q| (q - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let exact = p
            .matmul(&a)
            .matmul(&p)
            .to_vec_f64()
            .iter()
            .step_by(4)
            .sum::<f64>()
            * factor;
        assert!(
            (mean - exact).abs() < 5.0 * sd / (n as f64).sqrt(),
            "{scale:?}: {mean} vs {exact}"
        );
    }
}

/// `∇_A mean_v S` with the given per-point vectors (an orthonormal tangent basis times the
/// scale, so the mean over the basis is the expectation over v exactly).
fn surrogate_gradient(
    a: &Tensor,
    x: &Tensor,
    length: f64,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f64> {
    let (flow, p) = linear_flow(a);
    let s = flow.manifold();
    let x = x.requires_grad();
    let n = s.dim();
    let mut total = vec![0.0; a.len()];
    let z = flow.encode(&x.detach());
    let basis = s.tangent_basis(&z, rng);
    for j in 0..n {
        let v = basis.narrow(2, j, 1).reshape(x.shape()).mul_scalar(length);
        let mut draw = |_: &Tensor| v.clone();
        let parts = tangent_surrogate(&flow, &x, &mut draw);
        let g = grad(&parts.surrogate.sum_all(), &[&p.get()])
            .remove(0)
            .to_vec_f64();
        total
            .iter_mut()
            .zip(g)
            .for_each(|(t, gi)| *t += gi / n as f64);
    }
    total
}

#[test]
fn surrogate_gradient_equals_exact_log_det_gradient() {
    // With g = f⁻¹ exactly, E_v ∇_A S = ∇_A [log|det A| − d log‖Ax‖]
    // = A⁻ᵀ − d (Ax)xᵀ/‖Ax‖² (note §9 test 9); √m gives exactly m/n times it.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let d = 3;
    let a = test_matrix(d, &mut rng);
    let x = Sphere::new(d - 1).sample_uniform(1, DType::F64, &mut rng);
    let ax = x.matmul_transposed(&a);
    let nrm2 = ax.square().sum_all().item();
    let expect = a
        .inverse()
        .t()
        .sub(&ax.t().matmul(&x).mul_scalar(d as f64 / nrm2))
        .to_vec_f64();
    let n = (d - 1) as f64;
    let g = surrogate_gradient(&a, &x, n.sqrt(), &mut rng);
    for (gi, ei) in g.iter().zip(&expect) {
        assert!((gi - ei).abs() < 1e-9, "{g:?} vs {expect:?}");
    }
    let g_m = surrogate_gradient(&a, &x, (d as f64).sqrt(), &mut rng);
    for (gm, gi) in g_m.iter().zip(&g) {
        assert!((gm - gi * d as f64 / n).abs() < 1e-9, "√m scale: m/n times");
    }
}

#[test]
fn projection_losses_vanish_on_manifold_and_for_exact_inverses() {
    // Rotations keep raw outputs on M (βP term 0) and are exactly inverted (βU term 0).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let r0 = SpecialOrthogonal::default()
        .sample_uniform(1, DType::F64, &mut rng)
        .reshape(&[3, 3]);
    let (flow, _) = linear_flow(&r0);
    let x = Sphere::new(2).sample_uniform(32, DType::F64, &mut rng);
    let cfg = flow_manifold::MfffLossConfig::new(1.0)
        .with_beta_u(1.0)
        .with_beta_p(1.0);
    let t = flow_manifold::mfff_loss(&flow, &x, &cfg, &mut rng);
    assert!(t.projection() < 1e-20);
    assert!(t.sample_reconstruction() < 1e-20);
    assert!(t.reconstruction.to_vec_f64().iter().all(|r| *r < 1e-20));
    // The surrogate's value with exact inverses is tr(P_T) per vector in expectation: n = 2.
    let mean_s = t.surrogate.mean_all().item();
    assert!(
        (mean_s - 2.0).abs() < 1e-9,
        "isometry: S = ‖v‖² = n, got {mean_s}"
    );
}

#[test]
fn mobius_translation_is_an_isometry_of_the_ball() {
    // x ↦ a ⊕ x is a hyperbolic isometry: log|det(Rᵀ J Q)| + ½[log det G(h(x)) − log det G(x)]
    // = 0, which exercises the metric term of the chart.
    use flow_manifold::PoincareBall;
    let b = PoincareBall::new(2);
    let a = Tensor::from_slice(&[0.3f64, -0.2], &[1, 2]);
    let aa = a.square().sum_all().item();
    let h = |x: &Tensor| {
        let ax = x.mul(&a).sum_axis(1, true);
        let xx = x.square().sum_axis(1, true);
        let num = a
            .mul(&ax.mul_scalar(2.0).add(&xx).add_scalar(1.0))
            .add(&x.mul_scalar(1.0 - aa));
        num.div(&ax.mul_scalar(2.0).add(&xx.mul_scalar(aa)).add_scalar(1.0))
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
    let x = Tensor::rand_uniform(&[16, 2], -0.6, 0.6, DType::F64, &mut rng);
    let lv = manifold_log_det(&b, &h, &x, &h(&x), 16, &mut rng);
    assert!(
        lv.to_vec_f64().iter().all(|l| l.abs() < 1e-10),
        "{:?}",
        lv.to_vec_f64()
    );
    // Independent check that h is an isometry: it preserves the closed-form distance.
    let y = Tensor::rand_uniform(&[16, 2], -0.6, 0.6, DType::F64, &mut rng);
    let moved = b.dist(&h(&x), &h(&y));
    assert!(
        moved
            .sub(&b.dist(&x, &y))
            .abs()
            .to_vec_f64()
            .iter()
            .all(|e| *e < 1e-9)
    );
}

#[test]
fn tangent_vectors_are_isotropic_in_every_tangent_space() {
    // On SO(3) (m = 9, n = 3) and T³ (m = 6, n = 3): mean vvᵀ over 20000 draws at a fixed point
    // equals P_T = QQᵀ (√n) or (m/n) P_T (√m); entries of vvᵀ are bounded by m, SE ≤ m/√20000
    // ≈ 0.064 for m = 9; band 0.25 (≈ 4 SE).
    use flow_manifold::Torus;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let manifolds: Vec<Box<dyn Manifold>> = vec![
        Box::new(SpecialOrthogonal::default()),
        Box::new(Torus::new(3)),
    ];
    for m in manifolds {
        let (am, n) = (m.ambient_dim(), m.dim());
        let x0 = m.sample_uniform(1, DType::F64, &mut rng);
        let q = m.tangent_basis(&x0, &mut rng).reshape(&[am, n]);
        let p = q.matmul_transposed(&q);
        let draws = 20_000;
        let x = x0.broadcast_to(&[draws, am]);
        for (scale, factor) in [
            (TangentScale::Intrinsic, 1.0),
            (TangentScale::Ambient, am as f64 / n as f64),
        ] {
            let v = tangent_hutchinson(m.as_ref(), &x, scale, &mut rng);
            let second = v.t().matmul(&v).mul_scalar(1.0 / draws as f64);
            let err = second
                .sub(&p.mul_scalar(factor))
                .abs()
                .max_axis(0, false)
                .max_axis(0, false);
            assert!(
                err.item() < 0.25,
                "{} {scale:?}: max error {}",
                m.name(),
                err.item()
            );
        }
    }
}

#[test]
fn projected_networks_differentiate_through_the_projection() {
    // Note §9 test 13: raw ResNet outputs lie off M, so J_π must be inside every derivative.
    // flow_core's checker compares JVPs with central differences and VJPs by the
    // inner-product identity, to second order (f64, ε = 1e-6, tolerance 1e-6).
    use flow_freeform::ResNetConfig;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(10);
    for m in [
        Rc::new(Sphere::new(2)) as Rc<dyn Manifold>,
        Rc::new(SpecialOrthogonal::default()),
    ] {
        let d = m.ambient_dim();
        let net = ResNetConfig::new(d, d, &[8], 1);
        let flow = ManifoldFlow::new(
            m.clone(),
            Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
            Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
            Box::new(Uniform::new(m.clone())),
        );
        let x = m.sample_uniform(3, DType::F64, &mut rng);
        let raw = flow.encode_raw(&x);
        assert!(
            m.distance_to_manifold(&raw)
                .to_vec_f64()
                .iter()
                .any(|e| *e > 1e-3)
        );
        flow_core::testing::check_grads(&|u: &[Tensor]| flow.decode(&flow.encode(&u[0])), &[x]);
    }
}
