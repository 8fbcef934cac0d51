//! Element-wise functions. Each implements [`Elementwise`]: the scalar function `f`, its
//! scalar derivative `df` (for the fused first-order fast path) and the derivative as a
//! differentiable tensor expression (for higher orders). A new activation is ~15 lines.

use crate::autodiff::graph::{Op, is_constant_kernel_exact, is_grad_enabled};
use crate::data::{Data, map_data, map_data2};
use crate::dtype::Element;
use crate::ops::kernels;
use crate::tensor::Tensor;

/// An element-wise function `y = f(x)` with its derivative.
pub(crate) trait Elementwise: Sync + 'static {
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
        let f = &self.0;
        let gx = map_data2!(f.name(), g.data(), x.data(), gv, xv => {
            let yv = y.array();
            // Stored arrays are standard layout, so flat slices line up element by element.
            let (gs, xs, ys) = (slice(gv), slice(xv), slice(yv));
            let out = crate::fastmath::simd::map3(gs, xs, ys, #[inline(always)] |gi, xi, yi| gi * f.df(xi, yi));
            ndarray::ArrayD::from_shape_vec(gv.raw_dim(), out).expect("fused: shape")
        });
        Tensor::from_data(gx)
    }
}

impl<F: Elementwise> Unary<F> {
    /// A backward pass that carries tangents but records nothing (the backward half of
    /// forward-over-reverse, [`hvp`](crate::hvp)): `x̄ = c̄ f′(x)` and its tangent
    /// `ċ̄ f′(x) + c̄ f″(x) ẋ` in two fused passes, where the composed rule takes six
    /// (`f′`, its JVP, two products, their tangents' product and sum).
    fn fused_dual(&self, ct: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
        let (c, xp) = (ct.primal(), x.primal());
        let primal = self.fused(&c, &xp, &y.primal());
        let zeros = || xp.zeros_like();
        let (c_dot, x_dot) = (
            ct.tangent().unwrap_or_else(zeros),
            x.tangent().unwrap_or_else(zeros),
        );
        let f = &self.0;
        let tangent = match (c_dot.data(), c.data(), xp.data(), y.data(), x_dot.data()) {
            (Data::F32(a), Data::F32(b), Data::F32(p), Data::F32(q), Data::F32(r)) => {
                Data::F32(dual_kernel(f, [a, b, p, q, r]).into_shared())
            }
            (Data::F64(a), Data::F64(b), Data::F64(p), Data::F64(q), Data::F64(r)) => {
                Data::F64(dual_kernel(f, [a, b, p, q, r]).into_shared())
            }
            _ => panic!("{}: dtype mismatch in a backward pass", f.name()),
        };
        crate::make_dual(&primal, &Tensor::from_data(tangent))
    }
}

/// `ċ̄ f′(x) + c̄ f″(x) ẋ` from `[ċ̄, c̄, x, y, ẋ]`.
fn dual_kernel<T: Element, F: Elementwise>(
    f: &F,
    [c_dot, c, x, y, x_dot]: [&crate::data::Storage<T>; 5],
) -> ndarray::ArrayD<T> {
    let (cd, cs, xs, ys, xd) = (slice(c_dot), slice(c), slice(x), slice(y), slice(x_dot));
    let out = crate::parallel::team::collect_parts(xs.len(), |start, out| {
        let r = start..start + out.len();
        let lanes = cd[r.clone()]
            .iter()
            .zip(&cs[r.clone()])
            .zip(&xs[r.clone()])
            .zip(&ys[r.clone()])
            .zip(&xd[r]);
        for (o, ((((&a, &b), &p), &q), &d)) in out.iter_mut().zip(lanes) {
            o.write(a * f.df(p, q) + b * f.d2f(p, q) * d);
        }
    });
    ndarray::ArrayD::from_shape_vec(x.raw_dim(), out).expect("fused_dual: shape")
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
        vec![Some(ct.mul(&self.0.derivative(x, out)))]
    }
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (x, t) = (&inputs[0], t[0].as_ref().expect("unary: tangent"));
        if can_fuse(x, t, out) {
            return self.fused(t, x, out);
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

fn slice<T: Element>(a: &crate::data::Storage<T>) -> &[T] {
    a.as_slice().expect("stored tensors are in standard layout")
}

pub(crate) fn cst<T: Element>(x: f64) -> T {
    T::from_f64_lossy(x)
}
