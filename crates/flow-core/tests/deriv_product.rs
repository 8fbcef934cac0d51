//! The recorded derivative product `w ⊙ f′(x)` (one op, `ops/deriv_product.rs`) that recorded
//! backward passes and recorded JVPs of element-wise functions emit, checked in f64 against
//! central differences of the *unrecorded* first derivative (the fused first-order kernel,
//! an independent code path) at second and third order, for every function that has it:
//!
//! - its VJP (raw-buffer path): `∂/∂x Σ c ⊙ w ⊙ f′(x) = c ⊙ w ⊙ f″(x)` and `∂/∂w = c ⊙ f′(x)`;
//! - its recorded VJP (tensor-expression path) differentiated again: `f‴`;
//! - its JVP, recorded (`jvp` of a recorded VJP) and unrecorded (inside `hvp`), and the
//!   forward-over-reverse HVP against reverse-over-reverse.

use flow_core::{DType, Tensor, grad, grad_with_graph, hvp, hvp_reverse, jvp, vjp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

type Act = fn(&Tensor) -> Tensor;

const ACTIVATIONS: [(&str, Act); 9] = [
    ("exp", Tensor::exp),
    ("sin", Tensor::sin),
    ("cos", Tensor::cos),
    ("tanh", Tensor::tanh),
    ("sigmoid", Tensor::sigmoid),
    ("softplus", Tensor::softplus),
    ("silu", Tensor::silu),
    ("elu", Tensor::elu),
    ("relu", Tensor::relu),
];

/// `[16, 5]` points with `|x| ≥ 0.2` (away from the kinks of relu and elu″) and `|x| ≤ 2.2`.
fn inputs(seed: u64) -> (Tensor, Tensor, Tensor, Tensor) {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mag = Tensor::rand_uniform(&[16, 5], 0.2, 2.2, DType::F64, &mut r);
    let sign = Tensor::randn(&[16, 5], DType::F64, &mut r).gt_scalar(0.0);
    let x = Tensor::where_cond(&sign, &mag, &mag.neg());
    let w = Tensor::randn(&[16, 5], DType::F64, &mut r);
    let c = Tensor::randn(&[16, 5], DType::F64, &mut r);
    let v = Tensor::randn(&[16, 5], DType::F64, &mut r);
    (x, w, c, v)
}

/// `f′(x)` by the unrecorded fused kernel (the first-order path, not the product op).
fn first(f: Act, x: &Tensor) -> Tensor {
    let x = x.detach().requires_grad();
    vjp(&f(&x), &[&x], &x.ones_like()).remove(0)
}

/// Element-wise central difference of `g` at `x` (g acts element-wise).
fn central(g: &dyn Fn(&Tensor) -> Tensor, x: &Tensor) -> Tensor {
    let eps = 1e-5;
    g(&x.add_scalar(eps))
        .sub(&g(&x.add_scalar(-eps)))
        .mul_scalar(0.5 / eps)
}

fn assert_close(name: &str, what: &str, a: &Tensor, b: &Tensor, tol: f64) {
    let (a, b) = (a.to_vec_f64(), b.to_vec_f64());
    let scale = 1.0 + b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
        / scale;
    assert!(
        err < tol,
        "{name}: {what}: relative error {err:.2e} ≥ {tol:.0e}"
    );
}

/// `Σ c ⊙ (w ⊙ f′(x))` with the product recorded (a VJP with a graph).
fn product_sum(f: Act, x: &Tensor, w: &Tensor, c: &Tensor) -> Tensor {
    let p = vjp_with_graph(&f(x), &[x], w).remove(0);
    p.mul(c).sum_all()
}

#[test]
fn second_order_matches_differences_of_the_first_derivative() {
    let (x0, w0, c, _) = inputs(1);
    for (name, f) in ACTIVATIONS {
        let (x, w) = (x0.requires_grad(), w0.requires_grad());
        let g = grad(&product_sum(f, &x, &w, &c), &[&x, &w]);
        let f2 = central(&|x| first(f, x), &x0);
        assert_close(name, "∂/∂x", &g[0], &c.mul(&w0).mul(&f2), 1e-7);
        assert_close(name, "∂/∂w", &g[1], &c.mul(&first(f, &x0)), 1e-12);
    }
}

#[test]
fn third_order_matches_differences_of_the_second_derivative() {
    let (x0, w, c, d) = inputs(2);
    for (name, f) in ACTIVATIONS {
        // f″ by the raw-buffer VJP of the product (checked in the test above).
        let second = |x: &Tensor| {
            let x = x.detach().requires_grad();
            grad(&product_sum(f, &x, &x.ones_like(), &x.ones_like()), &[&x]).remove(0)
        };
        let f3 = central(&second, &x0);
        // Recorded VJP of the product (tensor-expression path), differentiated again.
        let x = x0.requires_grad();
        let t = grad_with_graph(&product_sum(f, &x, &w, &c), &[&x]).remove(0);
        let g = grad(&t.mul(&d).sum_all(), &[&x]).remove(0);
        assert_close(
            name,
            "f‴ (recorded VJP)",
            &g,
            &d.mul(&c).mul(&w).mul(&f3),
            1e-6,
        );
        // Forward-over-reverse through the product's unrecorded JVP, and the oracle.
        let s = |x: &Tensor| product_sum(f, x, &w, &c);
        let fwd = hvp(s, &x0, &d);
        assert_close(name, "hvp", &fwd, &d.mul(&c).mul(&w).mul(&f3), 1e-6);
        assert_close(
            name,
            "hvp vs hvp_reverse",
            &fwd,
            &hvp_reverse(s, &x0, &d),
            1e-11,
        );
    }
}

#[test]
fn recorded_jvp_of_the_product_matches_differences() {
    let (x0, w, _, v) = inputs(3);
    for (name, f) in ACTIVATIONS {
        let x = x0.requires_grad();
        // jvp of x ↦ w ⊙ f′(x) with the tangents recorded (the product's tensor-expression JVP).
        let (p, tangent) = jvp(|x| vjp_with_graph(&f(x), &[x], &w).remove(0), &x, &v);
        assert_close(name, "primal", &p, &w.mul(&first(f, &x0)), 1e-12);
        let f2 = central(&|x| first(f, x), &x0);
        assert_close(name, "tangent", &tangent, &w.mul(&f2).mul(&v), 1e-7);
    }
}
