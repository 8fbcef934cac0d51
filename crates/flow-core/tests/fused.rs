//! Fused primitives (`autodiff::fused`): the kernel VJP runs only in plain backward passes,
//! every other derivative is the composition's, and cotangents are partial derivatives even
//! when one input was computed from another.
//!
//! The test op is `f(x, y) = sin(x) · y` whose value kernel is exact but whose VJP kernel is
//! the true VJP *plus a marker* 1000 · c in the x-slot: a result equal to the composition's
//! proves the composition ran, a result carrying the marker proves the kernel did.

use std::cell::Cell;
use std::rc::Rc;

use flow_core::autodiff::fused::{Fused, fused};
use flow_core::testing::check_grads;
use flow_core::{Tensor, grad, grad_with_graph, hvp, jvp};

const MARK: f64 = 1000.0;

struct SinTimes {
    kernel_vjps: Rc<Cell<usize>>,
}

impl Fused for SinTimes {
    fn name(&self) -> &'static str {
        "sin_times"
    }
    fn compose(&self, i: &[Tensor]) -> Tensor {
        i[0].sin().mul(&i[1])
    }
    fn value(&self, i: &[Tensor]) -> Tensor {
        let v: Vec<f64> = i[0]
            .to_vec_f64()
            .iter()
            .zip(i[1].to_vec_f64())
            .map(|(x, y)| x.sin() * y)
            .collect();
        Tensor::from_vec(v, i[0].shape())
    }
    fn vjp(&self, i: &[Tensor], _: &Tensor, c: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        self.kernel_vjps.set(self.kernel_vjps.get() + 1);
        let (x, y, c) = (i[0].to_vec_f64(), i[1].to_vec_f64(), c.to_vec_f64());
        let gx: Vec<f64> = (0..x.len())
            .map(|k| c[k] * y[k] * x[k].cos() + MARK * c[k])
            .collect();
        let gy: Vec<f64> = (0..x.len()).map(|k| c[k] * x[k].sin()).collect();
        vec![
            Some(Tensor::from_vec(gx, i[0].shape())),
            Some(Tensor::from_vec(gy, i[1].shape())),
        ]
    }
}

fn op() -> (SinTimes, Rc<Cell<usize>>) {
    let calls = Rc::new(Cell::new(0));
    (
        SinTimes {
            kernel_vjps: calls.clone(),
        },
        calls,
    )
}

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v, &[v.len()])
}

fn close(a: &Tensor, b: &Tensor, tol: f64) {
    for (p, q) in a.to_vec_f64().iter().zip(b.to_vec_f64()) {
        assert!((p - q).abs() <= tol, "{p} vs {q}");
    }
}

#[test]
fn a_plain_backward_pass_takes_the_kernel() {
    let (x, y) = (
        t(&[0.3, -1.2]).requires_grad(),
        t(&[2.0, 0.5]).requires_grad(),
    );
    let (f, calls) = op();
    let g = grad(&fused(f, &[&x, &y]).sum_all(), &[&x, &y]);
    assert_eq!(calls.get(), 1);
    let expect_x: Vec<f64> = [(0.3f64, 2.0), (-1.2, 0.5)]
        .iter()
        .map(|(x, y)| y * x.cos() + MARK)
        .collect();
    close(&g[0], &t(&expect_x), 1e-12);
    close(&g[1], &t(&[0.3f64.sin(), (-1.2f64).sin()]), 1e-12);
}

#[test]
fn recorded_and_dual_backward_passes_take_the_composition() {
    let (x, y) = (t(&[0.3, -1.2]), t(&[2.0, 0.5]));
    let (f, calls) = op();
    // Reverse over reverse: ∂²(Σ sin(x)·y)/∂x² · 1 = −sin(x)·y.
    let xs = x.requires_grad();
    let g = grad_with_graph(&fused(f, &[&xs, &y]).sum_all(), &[&xs]);
    close(&g[0], &x.cos().mul(&y), 1e-12);
    let h = grad(&g[0].sum_all(), &[&xs]);
    close(&h[0], &x.sin().mul(&y).neg(), 1e-12);
    // Forward over reverse.
    let (f2, _) = op();
    let v = t(&[1.0, 2.0]);
    let yc = y.clone();
    let hv = hvp(move |x| fused(f2, &[x, &yc]).sum_all(), &x, &v);
    close(&hv, &x.sin().mul(&y).mul(&v).neg(), 1e-12);
    assert_eq!(calls.get(), 0, "the kernel VJP ran in a recorded pass");
}

#[test]
fn tangents_take_the_composition() {
    let (x, y) = (t(&[0.3, -1.2]), t(&[2.0, 0.5]));
    let (f, calls) = op();
    let (value, tangent) = jvp(|x| fused(f, &[x, &y]), &x, &t(&[1.0, 1.0]));
    close(&value, &x.sin().mul(&y), 1e-12);
    close(&tangent, &x.cos().mul(&y), 1e-12);
    assert_eq!(calls.get(), 0);
}

#[test]
fn recorded_cotangents_are_partials_when_inputs_share_a_path() {
    // f(x, 3x) = 3 x sin(x): the total derivative is 3 sin x + 3 x cos x; a rule that let the
    // y-cotangent flow on to x as well would add another 3 sin x.
    let x = t(&[0.3, -1.2]).requires_grad();
    let (f, _) = op();
    let y = x.mul_scalar(3.0);
    let g = grad_with_graph(&fused(f, &[&x, &y]).sum_all(), &[&x]);
    let expect = x
        .sin()
        .mul_scalar(3.0)
        .add(&x.mul(&x.cos()).mul_scalar(3.0));
    close(&g[0], &expect, 1e-12);
}

#[test]
fn second_order_gradcheck_of_the_composition_rules() {
    let (f, _) = op();
    let f = Rc::new(f);
    check_grads(
        &|v: &[Tensor]| {
            let f = SinTimes {
                kernel_vjps: f.kernel_vjps.clone(),
            };
            fused(f, &[&v[0], &v[1]])
        },
        &[t(&[0.3, -1.2, 2.0]), t(&[2.0, 0.5, -0.7])],
    );
}
