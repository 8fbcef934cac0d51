//! Fused primitives: a composition of differentiable ops that is its own definition, with
//! kernels that stand in for it where nothing is recorded.
//!
//! A long chain of small element-wise ops (a rational-quadratic spline is ~60 of them on
//! `[rows, bins]` tensors) costs an allocation, a pass over memory and a tape node per op, and
//! its backward pass as much again. A [`Fused`] op runs the chain as one kernel forward and one
//! kernel backward. Its [`compose`](Fused::compose) is the definition: wherever a kernel could
//! not produce every derivative (the inputs carry tangents, the backward pass is recorded for
//! higher derivatives, or it carries tangents for a Hessian-vector product), the rule is the
//! composition's, so derivatives of every order stay exact and a fused op never narrows what
//! the library can differentiate.

use super::graph::{GradModeGuard, Op, is_constant_kernel_exact, is_grad_enabled};
use super::reverse::{vjp, vjp_with_graph};
use crate::tensor::Tensor;

/// A primitive written as one kernel forward and one kernel backward, defined by a
/// composition of differentiable tensor ops.
///
/// The kernels must agree with the composition up to round-off (test them against it: value,
/// and VJP for every input); [`fused`] takes the composition's rules wherever the kernels
/// would not be exact.
pub trait Fused: 'static {
    /// The name used in panics and debugging.
    fn name(&self) -> &'static str;

    /// The definition, with differentiable ops; it may see tracked or dual inputs.
    fn compose(&self, inputs: &[Tensor]) -> Tensor;

    /// The value from untracked, tangent-free inputs, equal to
    /// [`compose`](Fused::compose)'s up to round-off.
    fn value(&self, inputs: &[Tensor]) -> Tensor;

    /// The first-order VJP from untracked, tangent-free inputs, output and cotangent; entries
    /// where `needs[i]` is false may be `None`.
    fn vjp(
        &self,
        inputs: &[Tensor],
        output: &Tensor,
        cotangent: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>>;
}

/// Applies a fused op: its kernel when the inputs carry no tangent (the tape records one
/// node), its composition when they do (the JVP rules are the composition's).
///
/// ```
/// use flow_core::autodiff::fused::{Fused, fused};
/// use flow_core::{Tensor, grad};
///
/// /// `x · exp(x)` as one kernel.
/// struct XExp;
/// impl Fused for XExp {
///     fn name(&self) -> &'static str { "x_exp" }
///     fn compose(&self, i: &[Tensor]) -> Tensor { i[0].mul(&i[0].exp()) }
///     fn value(&self, i: &[Tensor]) -> Tensor {
///         let v: Vec<f64> = i[0].to_vec_f64().iter().map(|x| x * x.exp()).collect();
///         Tensor::from_vec(v, i[0].shape())
///     }
///     fn vjp(&self, i: &[Tensor], _: &Tensor, c: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
///         let d: Vec<f64> = i[0].to_vec_f64().iter().zip(c.to_vec_f64())
///             .map(|(x, c)| c * (1.0 + x) * x.exp()).collect();
///         vec![Some(Tensor::from_vec(d, i[0].shape()))]
///     }
/// }
/// let x = Tensor::from_slice(&[0.5f64], &[1]).requires_grad();
/// let g = grad(&fused(XExp, &[&x]).sum_all(), &[&x]);
/// assert!((g[0].item() - 1.5 * 0.5f64.exp()).abs() < 1e-12);
/// ```
pub fn fused<F: Fused>(op: F, inputs: &[&Tensor]) -> Tensor {
    if inputs.iter().any(|t| t.tangent.is_some()) {
        let owned: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
        return op.compose(&owned);
    }
    let primals: Vec<Tensor> = inputs.iter().map(|t| t.detach()).collect();
    let value = {
        let _off = GradModeGuard::new(false);
        op.value(&primals)
    };
    Tensor::from_op(value.data().clone(), FusedOp(op), inputs)
}

/// The tape's view of a fused op.
struct FusedOp<F>(F);

impl<F: Fused> Op for FusedOp<F> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        output: &Tensor,
        cotangent: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let mut args: Vec<&Tensor> = inputs.iter().collect();
        args.extend([output, cotangent]);
        if is_constant_kernel_exact(&args) {
            let _off = GradModeGuard::new(false);
            return self.0.vjp(inputs, output, cotangent, needs);
        }
        composed_vjp(&self.0, inputs, cotangent, needs)
    }

    fn jvp(&self, inputs: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Tensor {
        let duals: Vec<Tensor> = inputs
            .iter()
            .zip(tangents)
            .map(|(x, t)| {
                t.as_ref()
                    .map_or_else(|| x.clone(), |t| crate::make_dual(x, t))
            })
            .collect();
        let out = self.0.compose(&duals);
        out.tangent().unwrap_or_else(|| out.zeros_like())
    }
}

/// The composition's VJP in the mode of the backward pass that asks for it: recorded (the
/// result is differentiable) when recording is on, carrying tangents when the inputs or the
/// cotangent do (forward-over-reverse).
///
/// The composition runs on aliases of the inputs, identity nodes whose cotangents are the
/// partial derivatives: were the targets the inputs themselves, a cotangent reaching one input
/// would also flow on through the tape to another input it was computed from.
fn composed_vjp<F: Fused>(
    op: &F,
    inputs: &[Tensor],
    cotangent: &Tensor,
    needs: &[bool],
) -> Vec<Option<Tensor>> {
    let create = is_grad_enabled();
    let _record = GradModeGuard::new(true);
    let aliases: Vec<Tensor> = inputs.iter().map(alias).collect();
    let out = op.compose(&aliases);
    let targets: Vec<&Tensor> = aliases.iter().collect();
    let cts = if create {
        vjp_with_graph(&out, &targets, cotangent)
    } else {
        vjp(&out, &targets, cotangent)
    };
    cts.into_iter()
        .zip(needs)
        .map(|(ct, &need)| need.then_some(ct))
        .collect()
}

/// An identity node over a tracked `x` (an untracked input has no cotangent to find).
fn alias(x: &Tensor) -> Tensor {
    if !x.is_tracked() {
        return x.clone();
    }
    Tensor::from_op(x.data().clone(), Alias, &[x])
}

/// `y = x`.
struct Alias;

impl Op for Alias {
    fn name(&self) -> &'static str {
        "alias"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.clone())]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Tensor {
        tangents[0].clone().expect("alias: tangent")
    }
}
