//! Element-wise functions. Each implements [`Elementwise`]: the scalar function `f`, its
//! scalar derivative `df` (for the fused first-order fast path) and the derivative as a
//! differentiable tensor expression (for higher orders). A new activation is ~15 lines.

use super::deriv_product::{Rule, deriv_product, kernel};
use crate::autodiff::graph::{Op, is_constant_kernel_exact, is_grad_enabled};
use crate::data::{map_data, map_data2};
use crate::dtype::Element;
use crate::ops::kernels;
use crate::tensor::Tensor;

/// An element-wise function `y = f(x)` with its derivative.
pub(crate) trait Elementwise: Sync + Copy + 'static {
    /// Name used in panics.
    fn name(&self) -> &'static str;
    /// The function on one value.
    fn f<T: Element>(&self, x: T) -> T;
    /// `f′(x)` given `x` and `y = f(x)`.
    fn df<T: Element>(&self, x: T, y: T) -> T;
    /// `f′(x)` as a differentiable tensor expression of `x` and `y`.
    fn derivative(&self, x: &Tensor, y: &Tensor) -> Tensor;
    /// Whether [`d2f`](Elementwise::d2f) is provided (the fused forward-over-reverse kernel).
    const HAS_D2F: bool = false;
    /// `f″(x)` given `x` and `y = f(x)`; only called when `HAS_D2F`.
    fn d2f<T: Element>(&self, _x: T, _y: T) -> T {
        unreachable!("{}: no scalar second derivative", self.name())
    }
    /// `f″(x)` as a differentiable tensor expression; only called when `HAS_D2F`.
    fn second_derivative(&self, _x: &Tensor, _y: &Tensor) -> Tensor {
        unreachable!("{}: no second derivative expression", self.name())
    }
}

struct Unary<F>(F);

/// Whether the fused kernel may replace the composed derivative: nothing is recorded and no
/// argument carries a tangent (a backward pass from a dual output, forward-over-reverse).
fn can_fuse(a: &Tensor, b: &Tensor, y: &Tensor) -> bool {
    is_constant_kernel_exact(&[a, b, y])
}

impl<F: Elementwise> Unary<F> {
    /// `g ⊙ f′(x)` in one pass.
    fn fused(&self, g: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
        Tensor::from_data(kernel(&self.0, Rule::Product, &[g, x, y]))
    }

    /// A backward pass that carries tangents but records nothing (the backward half of
    /// forward-over-reverse, [`hvp`](crate::hvp)): `x̄ = c̄ f′(x)` and its tangent
    /// `ċ̄ f′(x) + c̄ f″(x) ẋ` in two fused passes, where the composed rule takes six
    /// (`f′`, its JVP, two products, their tangents' product and sum).
    fn fused_dual(&self, ct: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
        let (c, xp, yp) = (ct.primal(), x.primal(), y.primal());
        let primal = self.fused(&c, &xp, &yp);
        let zeros = || xp.zeros_like();
        let (c_dot, x_dot) = (
            ct.tangent().unwrap_or_else(zeros),
            x.tangent().unwrap_or_else(zeros),
        );
        let tangent = kernel(&self.0, Rule::Dual, &[&c_dot, &c, &xp, &yp, &x_dot]);
        crate::make_dual(&primal, &Tensor::from_data(tangent))
    }
}

impl<F: Elementwise> Op for Unary<F> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn vjp(&self, inputs: &[Tensor], out: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let x = &inputs[0];
        if can_fuse(x, ct, out) {
            return vec![Some(self.fused(ct, x, out))];
        }
        if F::HAS_D2F && !is_grad_enabled() {
            return vec![Some(self.fused_dual(ct, x, out))];
        }
        if F::HAS_D2F {
            // A recorded backward pass: one op for the product instead of two.
            return vec![Some(deriv_product(self.0, ct, x, out))];
        }
        vec![Some(ct.mul(&self.0.derivative(x, out)))]
    }
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (x, t) = (&inputs[0], t[0].as_ref().expect("unary: tangent"));
        if can_fuse(x, t, out) {
            return self.fused(t, x, out);
        }
        if F::HAS_D2F {
            return deriv_product(self.0, t, x, out);
        }
        t.mul(&self.0.derivative(x, out))
    }
}

pub(crate) fn apply<F: Elementwise>(x: &Tensor, f: F) -> Tensor {
    let data = map_data!(x.data(), a => {
        let out = crate::fastmath::simd::map1(slice(a), #[inline(always)] |v| f.f(v));
        ndarray::ArrayD::from_shape_vec(a.raw_dim(), out).expect("unary: shape")
    });
    Tensor::from_op(data, Unary(f), &[x])
}

/// A constant (untracked) tensor of `df(x, y)`, for piecewise-linear functions whose
/// derivative has zero derivative.
pub(crate) fn constant_derivative<F: Elementwise>(f: &F, x: &Tensor, y: &Tensor) -> Tensor {
    let data = map_data2!(f.name(), x.data(), y.data(), xv, yv => {
        kernels::binary(xv, yv, xv.shape(), |a, b| f.df(a, b))
    });
    Tensor::from_data(data)
}

pub(crate) fn slice<T: Element>(a: &crate::data::Storage<T>) -> &[T] {
    a.as_slice().expect("stored tensors are in standard layout")
}

pub(crate) fn cst<T: Element>(x: f64) -> T {
    T::from_f64_lossy(x)
}
