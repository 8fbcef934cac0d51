//! Element-wise functions. Each implements [`Elementwise`]: the scalar function `f`, its
//! scalar derivative `df` (for the fused first-order fast path) and the derivative as a
//! differentiable tensor expression (for higher orders). A new activation is ~15 lines.

use super::deriv_product::{Pair, Rule, deriv_product, deriv_product_with, kernel, pair_kernel};
use crate::autodiff::graph::{Op, is_constant_kernel_exact, is_grad_enabled};
use crate::data::{Data, Storage, map_data, map_data2, with_data};
use crate::dtype::Element;
use crate::ops::kernels;
use crate::tensor::Tensor;
use std::cell::Cell;

/// An element-wise function `y = f(x)` with its derivative.
pub(crate) trait Elementwise: Sync + Copy + 'static {
    /// Name used in panics.
    fn name(&self) -> &'static str;
    /// The function on one value.
    fn f<T: Element>(&self, x: T) -> T;
    /// `f′(x)` given `x` and the kept value `k`: `y = f(x)`, or `aux(x)` for a function that
    /// [keeps one](Elementwise::KEEPS_AUX).
    fn df<T: Element>(&self, x: T, k: T) -> T;
    /// `f′(x)` as a differentiable tensor expression of `x` and `y`.
    fn derivative(&self, x: &Tensor, y: &Tensor) -> Tensor;
    /// Whether [`d2f`](Elementwise::d2f) is provided (the fused forward-over-reverse kernel).
    const HAS_D2F: bool = false;
    /// `f″(x)` given `x` and the kept value `k` (as for [`df`](Elementwise::df)); only called
    /// when `HAS_D2F`.
    fn d2f<T: Element>(&self, _x: T, _k: T) -> T {
        unreachable!("{}: no scalar second derivative", self.name())
    }
    /// Whether the op keeps `aux(x)` beside its output for the scalar rules `df`/`d2f`
    /// instead of `y`: SiLU keeps σ(x), which its rules would otherwise recompute (an `exp`
    /// and a division per element, in every backward and tangent pass over the activation).
    /// Kept only when a rule can run (the input is recorded or carries a tangent), so
    /// inference pays nothing; the tensor expressions (`derivative`) still take `y`.
    const KEEPS_AUX: bool = false;
    /// `(f(x), aux(x))` in one evaluation, `f(x)` bit-identical to [`f`](Elementwise::f);
    /// only called when `KEEPS_AUX`.
    fn f_aux<T: Element>(&self, _x: T) -> (T, T) {
        unreachable!("{}: keeps no auxiliary value", self.name())
    }
    /// `f″(x)` as a differentiable tensor expression; only called when `HAS_D2F`.
    fn second_derivative(&self, _x: &Tensor, _y: &Tensor) -> Tensor {
        unreachable!("{}: no second derivative expression", self.name())
    }
}

/// The op of `y = f(x)`, with the value its scalar rules read (see
/// [`Elementwise::KEEPS_AUX`]): `None` means `y` itself.
struct Unary<F> {
    f: F,
    aux: Option<Tensor>,
    /// The tangent's values `ẋ ⊙ f′(x)`, when the forward pass already wrote them (a dual
    /// input, [`apply`]); taken by the JVP rule, which runs once, right after.
    tangent: Cell<Option<Data>>,
}

/// Whether the fused kernel may replace the composed derivative: nothing is recorded and no
/// argument carries a tangent (a backward pass from a dual output, forward-over-reverse).
fn can_fuse(a: &Tensor, b: &Tensor, y: &Tensor) -> bool {
    is_constant_kernel_exact(&[a, b, y])
}

impl<F: Elementwise> Unary<F> {
    /// The value `df`/`d2f` read beside `x`: the kept `aux(x)`, or the output `y`.
    fn kept<'a>(&'a self, y: &'a Tensor) -> &'a Tensor {
        self.aux.as_ref().unwrap_or(y)
    }

    /// `g ⊙ f′(x)` in one pass (`k` the kept value).
    fn fused(&self, g: &Tensor, x: &Tensor, k: &Tensor) -> Tensor {
        Tensor::from_data(kernel(&self.f, Rule::Product, &[g, x, k]))
    }

    /// A backward pass that carries tangents but records nothing (the backward half of
    /// forward-over-reverse, [`hvp`](crate::hvp)): `x̄ = c̄ f′(x)` and its tangent
    /// `ċ̄ f′(x) + c̄ f″(x) ẋ` in one fused pass that writes both, where the composed rule
    /// takes six (`f′`, its JVP, two products, their tangents' product and sum).
    fn fused_dual(&self, ct: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
        let (c, xp, kp) = (ct.primal(), x.primal(), self.kept(y).primal());
        let zeros = || xp.zeros_like();
        let (c_dot, x_dot) = (
            ct.tangent().unwrap_or_else(zeros),
            x.tangent().unwrap_or_else(zeros),
        );
        let (primal, tangent) = pair_kernel(
            &self.f,
            Pair::PrimalAndDual,
            &[&c_dot, &c, &xp, &kp, &x_dot],
        );
        crate::make_dual(&Tensor::from_data(primal), &Tensor::from_data(tangent))
    }
}

impl<F: Elementwise> Op for Unary<F> {
    fn name(&self) -> &'static str {
        self.f.name()
    }
    fn vjp(&self, inputs: &[Tensor], out: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let (x, k) = (&inputs[0], self.kept(out));
        if can_fuse(x, ct, out) {
            return vec![Some(self.fused(ct, x, k))];
        }
        if F::HAS_D2F && !is_grad_enabled() {
            return vec![Some(self.fused_dual(ct, x, out))];
        }
        if F::HAS_D2F {
            // A recorded backward pass: one op for the product instead of two.
            return vec![Some(deriv_product(self.f, ct, x, out, k))];
        }
        vec![Some(ct.mul(&self.f.derivative(x, out)))]
    }
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (x, t, k) = (
            &inputs[0],
            t[0].as_ref().expect("unary: tangent"),
            self.kept(out),
        );
        let ready = self.tangent.take();
        if can_fuse(x, t, out) {
            return ready.map_or_else(|| self.fused(t, x, k), Tensor::from_data);
        }
        if F::HAS_D2F {
            return deriv_product_with(self.f, t, x, out, k, ready);
        }
        t.mul(&self.f.derivative(x, out))
    }
}

/// Whether an op on `x` will keep rules that can run: exactly when
/// [`Tensor::from_op`] records it or propagates a tangent through it.
fn rules_can_run(x: &Tensor) -> bool {
    (is_grad_enabled() && x.is_tracked()) || x.tangent().is_some()
}

pub(crate) fn apply<F: Elementwise>(x: &Tensor, f: F) -> Tensor {
    if F::KEEPS_AUX
        && F::HAS_D2F
        && let Some(t) = x.tangent()
    {
        // A dual input: value, kept value and tangent in one pass over `x` and `ẋ` (the JVP
        // rule would read `ẋ`, `x` and the kept value again). Either way the rule's tangent
        // is `ẋ ⊙ f′(x)` by `Rule::Product`, so the bits are the same.
        let (y, aux, dy) = map_data_triple(x.data(), t.data(), f);
        let (aux, tangent) = (Some(Tensor::from_data(aux)), Cell::new(Some(dy)));
        return Tensor::from_op(y, Unary { f, aux, tangent }, &[x]);
    }
    if F::KEEPS_AUX && rules_can_run(x) {
        let (y, aux) = with_data!(x.data(), a => value_and_aux(a, f));
        let aux = Some(Tensor::from_data(aux));
        return Tensor::from_op(
            y,
            Unary {
                f,
                aux,
                tangent: Cell::new(None),
            },
            &[x],
        );
    }
    let data = map_data!(x.data(), a => {
        let out = crate::fastmath::simd::map1(slice(a), #[inline(always)] |v| f.f(v));
        ndarray::ArrayD::from_shape_vec(a.raw_dim(), out).expect("unary: shape")
    });
    let tangent = Cell::new(None);
    Tensor::from_op(
        data,
        Unary {
            f,
            aux: None,
            tangent,
        },
        &[x],
    )
}

/// `(f(x), aux(x), ẋ ⊙ f′(x))` in one pass, the last as [`Rule::Product`] evaluates it.
fn map_data_triple<F: Elementwise>(x: &Data, t: &Data, f: F) -> (Data, Data, Data) {
    fn run<T: Element, F: Elementwise>(x: &Storage<T>, t: &Storage<T>, f: F) -> [Data; 3] {
        let (y, k, dy) = crate::fastmath::simd_pair::map2_triple(slice(x), slice(t), |v, tv| {
            let (y, k) = f.f_aux(v);
            (y, k, tv * f.df(v, k))
        });
        let wrap =
            |v| T::wrap(ndarray::ArrayD::from_shape_vec(x.raw_dim(), v).expect("unary: shape"));
        [wrap(y), wrap(k), wrap(dy)]
    }
    let [y, k, dy] = match (x, t) {
        (Data::F32(x), Data::F32(t)) => run(x, t, f),
        (Data::F64(x), Data::F64(t)) => run(x, t, f),
        _ => panic!("{}: tangent dtype differs from the input's", f.name()),
    };
    (y, k, dy)
}

/// `f(x)` and `aux(x)` in one pass.
fn value_and_aux<T: Element, F: Elementwise>(a: &Storage<T>, f: F) -> (Data, Data) {
    let (y, aux) = crate::fastmath::simd_pair::map1_pair(slice(a), |v| f.f_aux(v));
    let wrap = |v| T::wrap(ndarray::ArrayD::from_shape_vec(a.raw_dim(), v).expect("unary: shape"));
    (wrap(y), wrap(aux))
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
