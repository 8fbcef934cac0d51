//! Derived transforms: Hessian-vector products and dense Jacobians.

use super::forward::jvp;
use super::reverse::{grad_with_graph, vjp};
use crate::tensor::Tensor;

/// Hessian-vector product `∇²f(x) v` of a scalar function, by reverse-over-reverse:
/// `∇_x ⟨∇_x f(x), v⟩`.
///
/// # Panics
/// If `f` does not return one element, or `v`'s shape differs from `x`'s.
pub fn hvp(f: impl FnOnce(&Tensor) -> Tensor, x: &Tensor, v: &Tensor) -> Tensor {
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
