//! Activation functions: tanh, sigmoid, softplus, ReLU, leaky ReLU, ELU, SiLU, clamp.

use super::functions::elementwise;
use super::unary::{Elementwise, apply, constant_derivative, cst};
use crate::dtype::Element;
use crate::tensor::Tensor;

/// Numerically stable logistic function, branch-free so loops over it vectorise:
/// with `e = exp(−|x|)`, `σ(x) = 1/(1+e)` for `x ≥ 0` and `e/(1+e)` otherwise.
#[inline(always)]
fn sigmoid<T: Element>(x: T) -> T {
    let e = (-x.abs()).exp_fast();
    let numerator = if x >= T::zero() { T::one() } else { e };
    numerator / (T::one() + e)
}

elementwise!(
    Tanh,
    "tanh",
    |x| x.tanh_fast(),
    |x, y| T::one() - y * y,
    |s, x, y| y.square().neg().add_scalar(1.0),
    d2: |x, y| cst::<T>(-2.0) * y * (T::one() - y * y),
        |x, y| y.mul(&y.square().neg().add_scalar(1.0)).mul_scalar(-2.0)
);
elementwise!(
    Sigmoid,
    "sigmoid",
    |x| sigmoid(x),
    |x, y| y * (T::one() - y),
    |s, x, y| y.mul(&y.neg().add_scalar(1.0)),
    d2: |x, y| y * (T::one() - y) * (T::one() - cst::<T>(2.0) * y),
        |x, y| y.mul(&y.neg().add_scalar(1.0)).mul(&y.mul_scalar(-2.0).add_scalar(1.0))
);
// softplus(x) = max(x, 0) + ln(1 + e^{−|x|})
elementwise!(
    Softplus,
    "softplus",
    |x| x.max(T::zero()) + (-x.abs()).exp_fast().ln_1p_fast(),
    |x, y| sigmoid(x),
    |s, x, y| x.sigmoid(),
    d2: |x, y| {
        let s = sigmoid(x);
        s * (T::one() - s)
    },
        |x, y| {
        let s = x.sigmoid();
        s.mul(&s.neg().add_scalar(1.0))
    }
);
elementwise!(
    Relu,
    "relu",
    |x| x.max(T::zero()),
    |x, y| if x > T::zero() { T::one() } else { T::zero() },
    |s, x, y| constant_derivative(s, x, y),
    d2: |x, y| T::zero(),
        |x, y| x.zeros_like()
);
/// `silu(x) = x σ(x)`. It keeps `σ(x)` from its forward pass
/// ([`KEEPS_AUX`](Elementwise::KEEPS_AUX)), so its scalar rules
/// `silu′ = σ (1 + x (1 − σ))` and `silu″ = σ (1 − σ) (2 + x (1 − 2σ))` cost a few
/// multiplications instead of an `exp` and a division; the kept σ is bit-identical to the
/// recomputed one, so results do not change. The recorded derivative is one primitive
/// (`silu_prime`), so recorded derivatives (JVPs with a tape, backward passes with a graph)
/// cost one op instead of six.
#[derive(Clone, Copy)]
pub(crate) struct Silu;
impl Elementwise for Silu {
    fn name(&self) -> &'static str {
        "silu"
    }
    #[inline(always)]
    fn f<T: Element>(&self, x: T) -> T {
        x * sigmoid(x)
    }
    #[inline(always)]
    fn df<T: Element>(&self, x: T, s: T) -> T {
        silu_prime_from(x, s)
    }
    fn derivative(&self, x: &Tensor, _: &Tensor) -> Tensor {
        x.silu_prime()
    }
    const HAS_D2F: bool = true;
    #[inline(always)]
    fn d2f<T: Element>(&self, x: T, s: T) -> T {
        silu_second_from(x, s)
    }
    fn second_derivative(&self, x: &Tensor, _: &Tensor) -> Tensor {
        silu_second_tensor(x)
    }
    const KEEPS_AUX: bool = true;
    #[inline(always)]
    fn f_aux<T: Element>(&self, x: T) -> (T, T) {
        let s = sigmoid(x);
        (x * s, s)
    }
}

/// `silu′(x) = σ (1 + x (1 − σ))` given `s = σ(x)`.
#[inline(always)]
fn silu_prime_from<T: Element>(x: T, s: T) -> T {
    s * (T::one() + x * (T::one() - s))
}

/// `silu″(x) = σ (1 − σ) (2 + x (1 − 2σ))` given `s = σ(x)`.
#[inline(always)]
fn silu_second_from<T: Element>(x: T, s: T) -> T {
    s * (T::one() - s) * (cst::<T>(2.0) + x * (T::one() - cst::<T>(2.0) * s))
}

#[inline(always)]
fn silu_prime<T: Element>(x: T) -> T {
    silu_prime_from(x, sigmoid(x))
}

#[inline(always)]
fn silu_second<T: Element>(x: T) -> T {
    silu_second_from(x, sigmoid(x))
}

/// `silu″(x)` as a differentiable tensor expression.
fn silu_second_tensor(x: &Tensor) -> Tensor {
    let sg = x.sigmoid();
    let spread = sg.mul(&sg.neg().add_scalar(1.0));
    spread.mul(&x.mul(&sg.mul_scalar(-2.0).add_scalar(1.0)).add_scalar(2.0))
}

elementwise!(
    SiluPrime,
    "silu_prime",
    |x| silu_prime(x),
    |x, y| silu_second(x),
    |s, x, y| silu_second_tensor(x)
);
// elu(x) = x for x > 0, eˣ − 1 otherwise; elu′ = 1 or y + 1. Both sides are computed and
// one selected, so the loop vectorises (libm's scalar `expm1f` behind a branch took 9 ns per
// element, 60× ReLU).
elementwise!(
    Elu,
    "elu",
    |x| {
        let negative = x.exp_m1_fast();
        if x > T::zero() { x } else { negative }
    },
    |x, y| if x > T::zero() {
        T::one()
    } else {
        y + T::one()
    },
    |s, x, y| {
        let positive = x.gt_scalar(0.0);
        Tensor::where_cond(&positive, &x.ones_like(), &y.add_scalar(1.0))
    },
    d2: |x, y| if x > T::zero() { T::zero() } else { y + T::one() },
        |x, y| Tensor::where_cond(&x.gt_scalar(0.0), &x.zeros_like(), &y.add_scalar(1.0))
);

/// `x` for `x > 0`, `slope · x` otherwise.
#[derive(Clone, Copy)]
pub(crate) struct LeakyRelu(pub f64);
impl Elementwise for LeakyRelu {
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn f<T: Element>(&self, x: T) -> T {
        if x > T::zero() { x } else { x * cst(self.0) }
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        if x > T::zero() { T::one() } else { cst(self.0) }
    }
    fn derivative(&self, x: &Tensor, y: &Tensor) -> Tensor {
        constant_derivative(self, x, y)
    }
}

/// `x` clipped to `[low, high]`; derivative 1 inside, 0 outside.
#[derive(Clone, Copy)]
pub(crate) struct Clamp(pub f64, pub f64);
impl Elementwise for Clamp {
    fn name(&self) -> &'static str {
        "clamp"
    }
    fn f<T: Element>(&self, x: T) -> T {
        x.max(cst(self.0)).min(cst(self.1))
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        if x >= cst(self.0) && x <= cst(self.1) {
            T::one()
        } else {
            T::zero()
        }
    }
    fn derivative(&self, x: &Tensor, y: &Tensor) -> Tensor {
        constant_derivative(self, x, y)
    }
}

impl Tensor {
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        apply(self, Tanh)
    }
    /// Logistic sigmoid `1 / (1 + e^{−x})`.
    pub fn sigmoid(&self) -> Tensor {
        apply(self, Sigmoid)
    }
    /// `ln(1 + eˣ)`, stable for large `|x|`.
    pub fn softplus(&self) -> Tensor {
        apply(self, Softplus)
    }
    /// `max(x, 0)`.
    pub fn relu(&self) -> Tensor {
        apply(self, Relu)
    }
    /// `x` for `x > 0`, `slope · x` otherwise.
    pub fn leaky_relu(&self, slope: f64) -> Tensor {
        apply(self, LeakyRelu(slope))
    }
    /// Exponential linear unit with `α = 1`.
    pub fn elu(&self) -> Tensor {
        apply(self, Elu)
    }
    /// SiLU (swish) `x σ(x)`.
    pub fn silu(&self) -> Tensor {
        apply(self, Silu)
    }
    /// The SiLU derivative `silu′(x) = σ(x)(1 + x(1 − σ(x)))` as one element-wise op (what
    /// recorded derivatives of [`Tensor::silu`] use).
    pub fn silu_prime(&self) -> Tensor {
        apply(self, SiluPrime)
    }
    /// Clips to `[low, high]` (gradient 0 outside).
    ///
    /// # Panics
    /// If `low > high`.
    pub fn clamp(&self, low: f64, high: f64) -> Tensor {
        assert!(low <= high, "clamp: low {low} > high {high}");
        apply(self, Clamp(low, high))
    }
}
