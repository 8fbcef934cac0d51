//! Forward mode: dual tensors whose tangents are computed with recorded, differentiable ops.

use std::rc::Rc;

use crate::tensor::Tensor;

/// Attaches `tangent` to `primal`: every op applied to the result also computes the
/// directional derivative along `tangent` (`make_dual` of PyTorch's forward AD).
///
/// The returned handle shares `primal`'s tape node, so gradients with respect to `primal` still
/// flow; the tangent computation is itself recorded (when its inputs are tracked), so a JVP
/// can sit inside a reverse pass: `∇θ [vᵀ J_f(x) · stop_grad(J_g(z) v)]`.
///
/// Tangents flow through later backward passes from a dual output, so `jvp` of a function
/// that calls [`grad`](crate::grad) is a Hessian-vector product (see [`hvp`](crate::hvp)).
///
/// # Panics
/// If shapes or dtypes differ, or `primal` already carries a tangent: forward mode does not
/// nest (a tangent of a tangent would need a tag per nesting level on every tensor; no crate
/// needs it). `jvp(jvp(..))` on the same input is therefore a clear panic, never zeros.
///
/// ```
/// use flow_core::{Tensor, make_dual};
/// let x = Tensor::from_slice(&[0.0f64, 1.0], &[2]);
/// let v = Tensor::from_slice(&[1.0f64, 1.0], &[2]);
/// let y = make_dual(&x, &v).exp();
/// let jv = y.tangent().unwrap(); // exp(x) ⊙ v
/// assert!((jv.to_vec_f64()[1] - 1f64.exp()).abs() < 1e-12);
/// ```
pub fn make_dual(primal: &Tensor, tangent: &Tensor) -> Tensor {
    assert_eq!(
        primal.shape(),
        tangent.shape(),
        "make_dual: primal shape {:?} differs from tangent shape {:?}",
        primal.shape(),
        tangent.shape()
    );
    assert_eq!(
        primal.dtype(),
        tangent.dtype(),
        "make_dual: primal dtype {} differs from tangent dtype {}",
        primal.dtype(),
        tangent.dtype()
    );
    assert!(
        primal.tangent.is_none(),
        "make_dual: the primal (shape {:?}) already carries a tangent; nested forward mode \
         (jvp of a function that itself calls jvp on the same input) is not supported and would \
         silently drop the outer tangent. Take the inner jvp with respect to `x.primal()`, or \
         take second derivatives as a jvp of a gradient (hvp, forward-over-reverse)",
        primal.shape()
    );
    Tensor {
        node: primal.node.clone(),
        tangent: Some(Rc::new(tangent.primal())),
    }
}

/// Jacobian-vector product: `(f(x), J_f(x) v)` in one forward pass.
///
/// The tangent is differentiable with respect to anything `f` closes over (parameters) and to
/// `x` and `v` when they are tracked. If the output does not depend on `x`, the tangent is zero.
pub fn jvp(f: impl FnOnce(&Tensor) -> Tensor, x: &Tensor, v: &Tensor) -> (Tensor, Tensor) {
    let y = f(&make_dual(x, v));
    let tangent = y.tangent().unwrap_or_else(|| y.zeros_like());
    (y.primal(), tangent)
}
