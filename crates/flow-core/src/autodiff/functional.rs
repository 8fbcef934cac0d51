//! Derived transforms: Hessian-vector products and dense Jacobians.

use super::forward::{jvp, make_dual};
use super::graph::with_unrecorded_tangents;
use super::reverse::{grad, grad_with_graph, vjp};
use crate::tensor::Tensor;

/// Hessian-vector product `∇²f(x) v` of a scalar function, by forward-over-reverse:
/// `d/dε ∇f(x + εv)|₀`, one forward pass and one backward pass that both carry the tangent
/// `v` (JAX's `jvp(grad(f), (x,), (v,))`). The result is not differentiable.
///
/// [`hvp_reverse`] computes the same quantity by reverse-over-reverse (the test oracle).
///
/// # Panics
/// If `f` does not return one element, or `v`'s shape or dtype differs from `x`'s.
///
/// ```
/// use flow_core::{Tensor, hvp};
/// let x = Tensor::from_slice(&[1.0f64, 2.0], &[2]);
/// let v = Tensor::from_slice(&[1.0f64, 1.0], &[2]);
/// // ∇²(Σ x³) = diag(6x)
/// assert_eq!(hvp(|x| x.powf(3.0).sum_all(), &x, &v).to_vec_f64(), vec![6.0, 12.0]);
/// ```
pub fn hvp(f: impl FnOnce(&Tensor) -> Tensor, x: &Tensor, v: &Tensor) -> Tensor {
    let x = make_dual(&x.detach().requires_grad(), &v.detach());
    let y = with_unrecorded_tangents(|| f(&x));
    assert_eq!(
        y.len(),
        1,
        "hvp: f returned shape {:?}, not a scalar",
        y.shape()
    );
    let g = grad(&y, &[&x]).remove(0);
    g.tangent().unwrap_or_else(|| g.zeros_like())
}

/// Hessian-vector product `∇²f(x) v` by reverse-over-reverse: `∇_x ⟨∇_x f(x), v⟩` (a forward
/// pass, a recorded backward pass, and a backward pass through both). Slower than [`hvp`];
/// kept as its independent oracle.
///
/// # Panics
/// If `f` does not return one element, or `v`'s shape differs from `x`'s.
pub fn hvp_reverse(f: impl FnOnce(&Tensor) -> Tensor, x: &Tensor, v: &Tensor) -> Tensor {
    let x = x.detach().requires_grad();
    let y = f(&x);
    let g = grad_with_graph(&y, &[&x]).remove(0);
    let gv = g.mul(&v.detach()).sum_all();
    if !gv.is_tracked() {
        return x.zeros_like();
    }
    vjp(&gv, &[&x], &gv.ones_like()).remove(0)
}

/// Per-sample Jacobians of a row-wise map `f: [batch, n] → [batch, m]`, as `[batch, m, n]`,
/// by `n` forward-mode passes (one per input direction, shared by the whole batch).
///
/// `f` must treat rows independently (true for MLPs and flows without batch statistics).
/// Tracked parameters inside `f` stay tracked, so the result is differentiable.
///
/// # Panics
/// If `x` is not two-dimensional or `f` does not return `[batch, m]`.
pub fn jacobian(f: impl Fn(&Tensor) -> Tensor, x: &Tensor) -> Tensor {
    assert_eq!(
        x.ndim(),
        2,
        "jacobian: input must be [batch, n], got {:?}",
        x.shape()
    );
    let (batch, n) = (x.dim(0), x.dim(1));
    let columns: Vec<Tensor> = (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            let v = Tensor::from_vec(e, &[1, n])
                .to_dtype(x.dtype())
                .broadcast_to(&[batch, n]);
            let (y, jv) = jvp(&f, x, &v);
            assert_eq!(
                y.ndim(),
                2,
                "jacobian: f must return [batch, m], got {:?}",
                y.shape()
            );
            jv.reshape(&[batch, y.dim(1), 1])
        })
        .collect();
    let refs: Vec<&Tensor> = columns.iter().collect();
    Tensor::concat(&refs, 2)
}

/// Jacobian of `f: [n] → [m]` (unbatched) as `[m, n]`, by `m` reverse passes. Useful when
/// `m < n` or when `f` mixes samples.
pub fn jacobian_reverse(f: impl FnOnce(&Tensor) -> Tensor, x: &Tensor) -> Tensor {
    assert_eq!(
        x.ndim(),
        1,
        "jacobian_reverse: input must be [n], got {:?}",
        x.shape()
    );
    let x = x.detach().requires_grad();
    let y = f(&x);
    assert_eq!(
        y.ndim(),
        1,
        "jacobian_reverse: f must return [m], got {:?}",
        y.shape()
    );
    let m = y.dim(0);
    let rows: Vec<Tensor> = (0..m)
        .map(|i| {
            let mut e = vec![0.0; m];
            e[i] = 1.0;
            let c = Tensor::from_vec(e, &[m]).to_dtype(y.dtype());
            vjp(&y, &[&x], &c).remove(0).reshape(&[1, x.dim(0)])
        })
        .collect();
    let refs: Vec<&Tensor> = rows.iter().collect();
    Tensor::concat(&refs, 0)
}
