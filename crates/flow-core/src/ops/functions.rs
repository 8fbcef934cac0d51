//! Elementary functions: exp, log, log1p, sqrt, reciprocal, power, atan, abs, sin, cos.

use super::unary::{Elementwise, apply, constant_derivative, cst};
use crate::dtype::Element;
use crate::tensor::Tensor;

/// Declares a unit struct implementing [`Elementwise`] from three expressions:
/// `f(x)`, `df(x, y)` on scalars and the differentiable derivative on tensors; optionally
/// (`d2:`) the second derivative on scalars and as a differentiable tensor expression.
macro_rules! elementwise {
    ($ty:ident, $name:literal, |$x:ident| $f:expr, |$dx:ident, $dy:ident| $df:expr,
     |$self_:ident, $tx:ident, $ty_:ident| $deriv:expr
     $(, d2: |$d2x:ident, $d2y:ident| $d2f:expr, |$t2x:ident, $t2y:ident| $d2t:expr)? $(,)?) => {
        #[derive(Clone, Copy)]
        pub(crate) struct $ty;
        impl Elementwise for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            #[inline(always)]
            fn f<T: Element>(&self, $x: T) -> T {
                $f
            }
            #[inline(always)]
            #[allow(unused_variables)]
            fn df<T: Element>(&self, $dx: T, $dy: T) -> T {
                $df
            }
            #[allow(unused_variables)]
            fn derivative(&self, $tx: &Tensor, $ty_: &Tensor) -> Tensor {
                let $self_ = self;
                $deriv
            }
            $(
                const HAS_D2F: bool = true;
                #[inline(always)]
                #[allow(unused_variables)]
                fn d2f<T: Element>(&self, $d2x: T, $d2y: T) -> T {
                    $d2f
                }
                #[allow(unused_variables)]
                fn second_derivative(&self, $t2x: &Tensor, $t2y: &Tensor) -> Tensor {
                    $d2t
                }
            )?
        }
    };
}
pub(crate) use elementwise;

elementwise!(Exp, "exp", |x| x.exp_fast(), |x, y| y, |s, x, y| y.clone(), d2: |x, y| y, |x, y| y.clone());
elementwise!(Log, "log", |x| x.ln_fast(), |x, y| x.recip(), |s, x, y| x
    .recip());
elementwise!(
    Log1p,
    "log1p",
    |x| x.ln_1p_fast(),
    |x, y| (x + T::one()).recip(),
    |s, x, y| x.add_scalar(1.0).recip()
);
elementwise!(
    Sqrt,
    "sqrt",
    |x| x.sqrt(),
    |x, y| cst::<T>(0.5) / y,
    |s, x, y| y.recip().mul_scalar(0.5)
);
elementwise!(Recip, "recip", |x| x.recip(), |x, y| -(y * y), |s, x, y| y
    .square()
    .neg());
elementwise!(Sin, "sin", |x| x.sin_fast(), |x, y| x.cos_fast(), |s, x, y| x.cos(), d2: |x, y| -y, |x, y| y.neg());
elementwise!(Cos, "cos", |x| x.cos_fast(), |x, y| -x.sin_fast(), |s, x, y| x
    .sin()
    .neg(), d2: |x, y| -y, |x, y| y.neg());
elementwise!(
    Atan,
    "atan",
    |x| x.atan(),
    |x, y| (T::one() + x * x).recip(),
    |s, x, y| x.square().add_scalar(1.0).recip()
);
elementwise!(Abs, "abs", |x| x.abs(), |x, y| x.signum(), |s, x, y| {
    constant_derivative(s, x, y)
});

/// `x^p` for a constant exponent.
#[derive(Clone, Copy)]
pub(crate) struct Powf(pub f64);
impl Elementwise for Powf {
    fn name(&self) -> &'static str {
        "powf"
    }
    fn f<T: Element>(&self, x: T) -> T {
        x.powf(cst(self.0))
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        cst::<T>(self.0) * x.powf(cst(self.0 - 1.0))
    }
    fn derivative(&self, x: &Tensor, _: &Tensor) -> Tensor {
        x.powf(self.0 - 1.0).mul_scalar(self.0)
    }
}

impl Tensor {
    /// `eˣ` element-wise.
    pub fn exp(&self) -> Tensor {
        apply(self, Exp)
    }
    /// Natural logarithm element-wise.
    pub fn log(&self) -> Tensor {
        apply(self, Log)
    }
    /// `ln(1 + x)`, accurate near 0.
    pub fn log1p(&self) -> Tensor {
        apply(self, Log1p)
    }
    /// Square root element-wise (infinite derivative at 0).
    pub fn sqrt(&self) -> Tensor {
        apply(self, Sqrt)
    }
    /// `1 / x` element-wise.
    pub fn recip(&self) -> Tensor {
        apply(self, Recip)
    }
    /// `xᵖ` element-wise for a constant `p`.
    pub fn powf(&self, p: f64) -> Tensor {
        apply(self, Powf(p))
    }
    /// `arctan x` element-wise (FrEIA's ATAN soft clamp of coupling scales uses it).
    pub fn atan(&self) -> Tensor {
        apply(self, Atan)
    }
    /// `|x|` element-wise. Derivative: `signum(x)`, which is ±1 also at ±0 (a subgradient
    /// chosen by the sign bit, not 0), and 0 in the derivative's own derivative.
    pub fn abs(&self) -> Tensor {
        apply(self, Abs)
    }
    /// `sin x` element-wise.
    pub fn sin(&self) -> Tensor {
        apply(self, Sin)
    }
    /// `cos x` element-wise.
    pub fn cos(&self) -> Tensor {
        apply(self, Cos)
    }
}
