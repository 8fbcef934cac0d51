//! Derived transforms against independent oracles: Hessian-vector products against finite
//! differences of gradients, `∇θ vᵀ J_f(x) u` against finite differences, dense Jacobians and
//! `slogdet` against known matrices, and fused first-order kernels against their composition.

use flow_core::nn::{Activation, MlpConfig, Module, values};
use flow_core::{
    DType, Tensor, grad, hvp, jacobian, jacobian_reverse, jvp, no_grad, vjp, vjp_with_graph,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A smooth scalar test function of a vector: Σ tanh(x)·x² + (Σ x)³/10.
fn scalar_fn(x: &Tensor) -> Tensor {
    x.tanh()
        .mul(&x.square())
        .sum_all()
        .add(&x.sum_all().powf(3.0).mul_scalar(0.1))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// H v against (∇f(x + εv) − ∇f(x − εv)) / 2ε.
    #[test]
    fn hvp_matches_finite_difference_of_gradients(n in 1usize..8, seed in 0u64..10_000) {
        let mut r = rng(seed);
        let x = Tensor::randn(&[n], DType::F64, &mut r);
        let v = Tensor::randn(&[n], DType::F64, &mut r);
        let hv = hvp(scalar_fn, &x, &v);
        let eps = 1e-5;
        let g = |s: f64| {
            let xs = x.add(&v.mul_scalar(s)).requires_grad();
            grad(&scalar_fn(&xs), &[&xs]).remove(0)
        };
        let fd = g(eps).sub(&g(-eps)).mul_scalar(0.5 / eps);
        prop_assert!(max_abs_diff(&hv, &fd) < 1e-6 * (1.0 + fd.abs().max_axis(0, false).item()));
    }

    /// ∇θ [vᵀ J_f(x) u] (a JVP inside a reverse pass) against finite differences along a
    /// random parameter direction.
    #[test]
    fn parameter_gradient_of_jvp_matches_finite_differences(d in 1usize..5, seed in 0u64..10_000) {
        let mut r = rng(seed);
        let net = MlpConfig::new(d, &[6], d).with_activation(Activation::Tanh).build("f", DType::F64, &mut r);
        let params = net.parameters();
        let x = Tensor::randn(&[3, d], DType::F64, &mut r);
        let u = Tensor::randn(&[3, d], DType::F64, &mut r);
        let v = Tensor::randn(&[3, d], DType::F64, &mut r);
        let objective = || {
            let (_, ju) = jvp(|x| net.forward(x), &x, &u);
            ju.mul(&v).sum_all()
        };
        let leaves = values(&params);
        let grads = grad(&objective(), &leaves.iter().collect::<Vec<_>>());
        let dirs: Vec<Tensor> = leaves.iter().map(|p| Tensor::randn(p.shape(), DType::F64, &mut r)).collect();
        let analytic: f64 = grads.iter().zip(&dirs).map(|(g, t)| g.mul(t).sum_all().item()).sum();
        let eps = 1e-6;
        let at = |s: f64| {
            for ((p, v0), t) in params.iter().zip(&leaves).zip(&dirs) {
                p.set(v0.add(&t.mul_scalar(s)));
            }
            objective().item()
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        prop_assert!((analytic - fd).abs() < 1e-6 * (1.0 + fd.abs()), "{} vs {}", analytic, fd);
    }
}

#[test]
fn jacobian_of_linear_map_is_the_matrix() {
    let mut r = rng(1);
    let a = Tensor::randn(&[3, 4], DType::F64, &mut r); // f(x) = x Aᵀ: R⁴ → R³, J = A
    let x = Tensor::randn(&[5, 4], DType::F64, &mut r);
    let j = jacobian(|x| x.matmul_transposed(&a), &x);
    assert_eq!(j.shape(), &[5, 3, 4]);
    for b in 0..5 {
        let jb = j.narrow(0, b, 1).reshape(&[3, 4]);
        assert!(max_abs_diff(&jb, &a) < 1e-14);
    }
    let jr = jacobian_reverse(
        |x| x.unsqueeze(0).matmul_transposed(&a).squeeze(0),
        &x.narrow(0, 0, 1).squeeze(0),
    );
    assert!(max_abs_diff(&jr, &a) < 1e-14);
}

#[test]
fn jacobian_of_elementwise_map_is_diagonal() {
    let x = Tensor::from_slice(&[0.1f64, -0.5, 2.0], &[1, 3]);
    let j = jacobian(|x| x.tanh(), &x).reshape(&[3, 3]).to_vec_f64();
    for (i, xv) in [0.1f64, -0.5, 2.0].iter().enumerate() {
        for k in 0..3 {
            let expect = if i == k { 1.0 - xv.tanh().powi(2) } else { 0.0 };
            assert!((j[i * 3 + k] - expect).abs() < 1e-15);
        }
    }
}

#[test]
fn slogdet_of_known_matrices() {
    // diag(2, −3, 0.5): det = −3; permutation swaps a sign; triangular: product of diagonal.
    let cases: [(&[f64], f64, f64); 4] = [
        (
            &[2.0, 0.0, 0.0, 0.0, -3.0, 0.0, 0.0, 0.0, 0.5],
            -1.0,
            3f64.ln(),
        ),
        (&[0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], -1.0, 0.0),
        (
            &[1.0, 5.0, -7.0, 0.0, 2.0, 9.0, 0.0, 0.0, 4.0],
            1.0,
            8f64.ln(),
        ),
        (
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0],
            -1.0,
            3f64.ln(),
        ),
    ];
    for (values, sign, log) in cases {
        let (s, l) = Tensor::from_slice(values, &[3, 3]).slogdet();
        assert_eq!(s.item(), sign, "{values:?}");
        assert!(
            (l.item() - log).abs() < 1e-12,
            "{values:?}: {} vs {log}",
            l.item()
        );
    }
    let singular = Tensor::from_slice(&[1.0f64, 2.0, 2.0, 4.0], &[2, 2]).slogdet();
    assert_eq!(
        (singular.0.item(), singular.1.item()),
        (0.0, f64::NEG_INFINITY)
    );
    // Batched, and ∇ log|det A| = A⁻ᵀ.
    let mut r = rng(3);
    let a = Tensor::randn(&[4, 3, 3], DType::F64, &mut r)
        .add(&Tensor::eye(3, DType::F64).mul_scalar(3.0))
        .requires_grad();
    let (_, l) = a.slogdet();
    assert_eq!(l.shape(), &[4]);
    let g = grad(&l.sum_all(), &[&a]).remove(0);
    assert!(max_abs_diff(&g, &a.inverse().t()) < 1e-12);
    let ai = a.matmul(&a.inverse());
    assert!(max_abs_diff(&ai, &Tensor::eye(3, DType::F64).broadcast_to(&[4, 3, 3])) < 1e-12);
}

/// The fused first-order kernels (used when nothing is recorded) agree with the composed,
/// differentiable derivative expressions (used under `create_graph`).
#[test]
fn fused_elementwise_kernels_match_composition() {
    type Unary = fn(&Tensor) -> Tensor;
    let activations: [(&str, Unary); 16] = [
        ("atan", Tensor::atan),
        ("exp", Tensor::exp),
        ("log", |x| x.abs().add_scalar(0.1).log()),
        ("sqrt", |x| x.abs().add_scalar(0.1).sqrt()),
        ("recip", |x| x.abs().add_scalar(0.1).recip()),
        ("sin", Tensor::sin),
        ("cos", Tensor::cos),
        ("tanh", Tensor::tanh),
        ("sigmoid", Tensor::sigmoid),
        ("softplus", Tensor::softplus),
        ("silu", Tensor::silu),
        ("silu_prime", Tensor::silu_prime),
        ("elu", Tensor::elu),
        ("relu", Tensor::relu),
        ("log1p", |x| x.abs().log1p()),
        ("powf", |x| x.abs().add_scalar(0.1).powf(1.7)),
    ];
    let mut r = rng(7);
    let x = Tensor::randn(&[16, 5], DType::F64, &mut r)
        .mul_scalar(3.0)
        .requires_grad();
    let ct = Tensor::randn(&[16, 5], DType::F64, &mut r);
    for (name, f) in activations {
        let y = f(&x);
        let fused = vjp(&y, &[&x], &ct).remove(0);
        let composed = vjp_with_graph(&y, &[&x], &ct).remove(0);
        assert!(max_abs_diff(&fused, &composed) < 1e-12, "{name}: vjp");
        let (_, jv_composed) = jvp(f, &x, &ct);
        let (_, jv_fused) = no_grad(|| jvp(f, &x, &ct));
        assert!(max_abs_diff(&jv_fused, &jv_composed) < 1e-12, "{name}: jvp");
        assert!(
            max_abs_diff(&jv_fused.mul(&ct).sum_all(), &fused.mul(&ct).sum_all()) < 1e-9,
            "{name}: jvp/vjp consistency"
        );
    }
}
