//! `g ⊙ f′(x)` as one recorded primitive, for the element-wise functions that know their
//! second derivative.
//!
//! A recorded derivative of `y = f(x)` (a backward pass with a graph, as inside the free-form
//! surrogate's `vᵀ J_f`, or a JVP whose tangent stays on the tape) multiplies the incoming
//! `g` by `f′(x)`. Composed from tensor ops that is two ops and two passes over the
//! activations (`f′(x)`, then the product), and differentiating it again costs three more
//! (the product's two cotangents, then `f′`'s own). As one op it is one pass forward and
//! two backward:
//!
//! - forward: `p = g ⊙ f′(x)`;
//! - VJP: `ḡ = p̄ ⊙ f′(x)`, `x̄ = p̄ ⊙ g ⊙ f″(x)` (one pass writing both when both are needed);
//! - JVP: `ṗ = ġ ⊙ f′(x) + g ⊙ f″(x) ⊙ ẋ`.
//!
//! `f′` and `f″` are the total derivatives in `x`: the op keeps `y = f(x)` (or the value the
//! function keeps instead, SiLU's σ(x)) beside its inputs only to evaluate them (tanh's
//! `f′ = 1 − y²`), so no cotangent flows to it separately. When
//! the rules themselves must be recorded (third-order derivatives) or carry tangents, they
//! fall back to the functions' differentiable tensor expressions for `f′` and `f″`.

use super::unary::{Elementwise, slice};
use crate::autodiff::graph::{Op, is_constant_kernel_exact};
use crate::data::Data;
use crate::dtype::Element;
use crate::tensor::Tensor;

/// Which element-wise rule [`kernel`] evaluates, with its arguments in order (`k` is the value
/// the function's scalar rules read: `y = f(x)` or its kept `aux(x)`).
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    /// `[a, x, k] ↦ a ⊙ f′(x)`.
    Product,
    /// `[a, b, x, k] ↦ a ⊙ b ⊙ f″(x)`.
    Second,
    /// `[ȧ, a, x, k, ẋ] ↦ ȧ ⊙ f′(x) + a ⊙ f″(x) ⊙ ẋ` (the JVP of the product, also the tangent
    /// of a backward pass that carries tangents).
    Dual,
}

/// One pass of `rule` over same-shaped tensors (the raw-buffer fast path: the caller has
/// checked that nothing is recorded and no argument carries a tangent).
pub(crate) fn kernel<F: Elementwise>(f: &F, rule: Rule, args: &[&Tensor]) -> Data {
    match args[0].data() {
        Data::F32(_) => Data::F32(run::<f32, F>(f, rule, args).into_shared()),
        Data::F64(_) => Data::F64(run::<f64, F>(f, rule, args).into_shared()),
    }
}

fn run<T: Element, F: Elementwise>(f: &F, rule: Rule, args: &[&Tensor]) -> ndarray::ArrayD<T> {
    let s: Vec<&[T]> = args.iter().map(|t| slice(t.array::<T>())).collect();
    use crate::fastmath::simd::{map3, map4, map5};
    let out = match rule {
        Rule::Product => map3(
            s[0],
            s[1],
            s[2],
            #[inline(always)]
            |a, x, y| a * f.df(x, y),
        ),
        Rule::Second => map4(
            s[0],
            s[1],
            s[2],
            s[3],
            #[inline(always)]
            |a, b, x, y| a * b * f.d2f(x, y),
        ),
        Rule::Dual => map5(
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            #[inline(always)]
            |a_dot, a, x, y, x_dot| a_dot * f.df(x, y) + a * f.d2f(x, y) * x_dot,
        ),
    };
    ndarray::ArrayD::from_shape_vec(args[0].array::<T>().raw_dim(), out)
        .expect("deriv_product: shape")
}

/// Two rules that read the same inputs, evaluated in one pass ([`pair_kernel`]).
#[derive(Clone, Copy)]
pub(crate) enum Pair {
    /// `[a, b, x, k] ↦ (a ⊙ f′(x), a ⊙ b ⊙ f″(x))`: both cotangents of the recorded product
    /// ([`Rule::Product`] and [`Rule::Second`] together).
    Cotangents,
    /// `[ȧ, a, x, k, ẋ] ↦ (a ⊙ f′(x), ȧ ⊙ f′(x) + a ⊙ f″(x) ⊙ ẋ)`: the primal and tangent of a
    /// backward rule that carries tangents ([`Rule::Product`] and [`Rule::Dual`] together).
    PrimalAndDual,
}

/// One pass of `pair` (the fast path of [`kernel`]): each output element is the same
/// expression the two single rules evaluate, so the bits are theirs.
pub(crate) fn pair_kernel<F: Elementwise>(f: &F, pair: Pair, args: &[&Tensor]) -> (Data, Data) {
    fn wrap<T: Element>(like: &Tensor, (p, q): (Vec<T>, Vec<T>)) -> (Data, Data) {
        let shape = like.array::<T>().raw_dim();
        let arr = |v| ndarray::ArrayD::from_shape_vec(shape.clone(), v).expect("pair: shape");
        (T::wrap(arr(p)), T::wrap(arr(q)))
    }
    match args[0].data() {
        Data::F32(_) => wrap(args[0], run_pair::<f32, F>(f, pair, args)),
        Data::F64(_) => wrap(args[0], run_pair::<f64, F>(f, pair, args)),
    }
}

fn run_pair<T: Element, F: Elementwise>(f: &F, pair: Pair, args: &[&Tensor]) -> (Vec<T>, Vec<T>) {
    let s: Vec<&[T]> = args.iter().map(|t| slice(t.array::<T>())).collect();
    use crate::fastmath::simd_pair::{map4_pair, map5_pair};
    match pair {
        Pair::Cotangents => map4_pair(
            s[0],
            s[1],
            s[2],
            s[3],
            #[inline(always)]
            |a, b, x, k| (a * f.df(x, k), a * b * f.d2f(x, k)),
        ),
        Pair::PrimalAndDual => map5_pair(
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            #[inline(always)]
            |a_dot, a, x, k, x_dot| {
                let d1 = f.df(x, k);
                (a * d1, a_dot * d1 + a * f.d2f(x, k) * x_dot)
            },
        ),
    }
}

/// The op: inputs `[g, x]`, with `y = f(x)` kept for the derivative tensor expressions and
/// `k` (the value the scalar rules read: `y`, or the function's kept `aux(x)`) for the
/// kernels.
struct DerivProduct<F> {
    f: F,
    y: Tensor,
    k: Tensor,
}

/// `g ⊙ f′(x)` recorded as one op, where `y` is `f`'s output at `x` and `k` the value its
/// scalar rules read ([`Elementwise::KEEPS_AUX`]). Only for functions with `HAS_D2F`.
///
/// # Panics
/// If `g`, `x`, `y` and `k` differ in shape.
pub(crate) fn deriv_product<F: Elementwise>(
    f: F,
    g: &Tensor,
    x: &Tensor,
    y: &Tensor,
    k: &Tensor,
) -> Tensor {
    deriv_product_with(f, g, x, y, k, None)
}

/// [`deriv_product`] with its values `g ⊙ f′(x)` already evaluated by the caller (`data`, the
/// bits of [`Rule::Product`] on `[g, x, k]`), or evaluated here when `None`.
pub(crate) fn deriv_product_with<F: Elementwise>(
    f: F,
    g: &Tensor,
    x: &Tensor,
    y: &Tensor,
    k: &Tensor,
    data: Option<Data>,
) -> Tensor {
    assert!(
        F::HAS_D2F,
        "{}: no second derivative for a fused product",
        f.name()
    );
    assert!(
        g.shape() == x.shape() && x.shape() == y.shape() && y.shape() == k.shape(),
        "{}′ product: g {:?}, x {:?}, y {:?}, k {:?} differ",
        f.name(),
        g.shape(),
        x.shape(),
        y.shape(),
        k.shape()
    );
    let data = data.unwrap_or_else(|| kernel(&f, Rule::Product, &[g, x, k]));
    let op = DerivProduct {
        f,
        y: y.clone(),
        k: k.clone(),
    };
    Tensor::from_op(data, op, &[g, x])
}

impl<F: Elementwise> Op for DerivProduct<F> {
    fn name(&self) -> &'static str {
        self.f.name()
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        _: &Tensor,
        ct: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let (g, x, y, k, f) = (&inputs[0], &inputs[1], &self.y, &self.k, &self.f);
        if is_constant_kernel_exact(&[ct, g, x, y]) {
            if needs[0] && needs[1] {
                let (dg, dx) = pair_kernel(f, Pair::Cotangents, &[ct, g, x, k]);
                return vec![Some(Tensor::from_data(dg)), Some(Tensor::from_data(dx))];
            }
            return vec![
                needs[0].then(|| Tensor::from_data(kernel(f, Rule::Product, &[ct, x, k]))),
                needs[1].then(|| Tensor::from_data(kernel(f, Rule::Second, &[ct, g, x, k]))),
            ];
        }
        vec![
            needs[0].then(|| ct.mul(&f.derivative(x, y))),
            needs[1].then(|| ct.mul(g).mul(&f.second_derivative(x, y))),
        ]
    }

    fn jvp(&self, inputs: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (g, x, y, k, f) = (&inputs[0], &inputs[1], &self.y, &self.k, &self.f);
        let zeros = || x.zeros_like();
        let g_dot = t[0].clone().unwrap_or_else(zeros);
        let x_dot = t[1].clone().unwrap_or_else(zeros);
        if is_constant_kernel_exact(&[&g_dot, g, x, y, &x_dot]) {
            return Tensor::from_data(kernel(f, Rule::Dual, &[&g_dot, g, x, k, &x_dot]));
        }
        g_dot
            .mul(&f.derivative(x, y))
            .add(&g.mul(&f.second_derivative(x, y)).mul(&x_dot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activations::Silu;
    use crate::ops::functions::Sin;
    use crate::{DType, Data};
    use rand::SeedableRng;

    fn bits(d: &Data) -> Vec<u64> {
        Tensor::from_data(d.clone())
            .to_vec_f64()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// Each paired pass writes exactly the bits of the two single rules it replaces, for a
    /// function with a kept value (SiLU's σ) and one that reads its output (sin), in f32 and
    /// f64, on tensors large enough to be cut among the compute team.
    fn check<F: Elementwise>(f: F, k_of: impl Fn(&Tensor) -> Tensor) {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        for dtype in [DType::F32, DType::F64] {
            let [a, b, x, t] = [0; 4].map(|_| Tensor::randn(&[300, 257], dtype, &mut rng));
            let k = k_of(&x);
            let (p, q) = pair_kernel(&f, Pair::Cotangents, &[&a, &b, &x, &k]);
            assert_eq!(bits(&p), bits(&kernel(&f, Rule::Product, &[&a, &x, &k])));
            assert_eq!(bits(&q), bits(&kernel(&f, Rule::Second, &[&a, &b, &x, &k])));
            let (p, q) = pair_kernel(&f, Pair::PrimalAndDual, &[&t, &a, &x, &k, &b]);
            assert_eq!(bits(&p), bits(&kernel(&f, Rule::Product, &[&a, &x, &k])));
            assert_eq!(
                bits(&q),
                bits(&kernel(&f, Rule::Dual, &[&t, &a, &x, &k, &b]))
            );
        }
    }

    /// A SiLU on a dual input writes its value, kept σ and tangent in one pass
    /// (`unary::apply`): the bits of the plain forward pass and of [`Rule::Product`], with the
    /// input recorded or not and with tangents recorded or not (as inside `hvp`).
    #[test]
    fn dual_forward_pass_gives_the_separate_passes_bits() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(8);
        for dtype in [DType::F32, DType::F64] {
            let [x, t] = [0; 2].map(|_| Tensor::randn(&[300, 257], dtype, &mut rng));
            let want_y = bits(x.silu().data());
            let want_dy = bits(&kernel(&Silu, Rule::Product, &[&t, &x, &x.sigmoid()]));
            for tracked in [false, true] {
                let xi = if tracked {
                    x.requires_grad()
                } else {
                    x.clone()
                };
                let (y, dy) = crate::jvp(|x| x.silu(), &xi, &t);
                assert_eq!(bits(y.data()), want_y, "value, tracked {tracked}");
                assert_eq!(bits(dy.data()), want_dy, "tangent, tracked {tracked}");
                let dy = crate::autodiff::graph::with_unrecorded_tangents(|| {
                    crate::jvp(|x| x.silu(), &xi, &t).1
                });
                assert_eq!(bits(dy.data()), want_dy, "unrecorded, tracked {tracked}");
            }
        }
    }

    #[test]
    fn paired_passes_give_the_single_rules_bits() {
        check(Silu, |x| x.sigmoid());
        check(Sin, |x| x.sin());
    }
}
