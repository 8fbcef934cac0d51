//! Element types: `f32` for fast training, `f64` for gradient checks and theory.
//!
//! The dtype is a runtime property of a [`Tensor`](crate::Tensor) (like candle), so model code is
//! written once without generic parameters; kernels are generic over [`Element`] internally.

use ndarray::{ArrayD, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, NumAssign};
use std::fmt::{Debug, Display};
use std::iter::Sum;

use crate::data::{Data, Storage};

/// The runtime element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DType {
    /// 32-bit IEEE float: the training default.
    F32,
    /// 64-bit IEEE float: gradient checks, theory, exact evaluation.
    F64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

impl Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DType::F32 => write!(f, "f32"),
            DType::F64 => write!(f, "f64"),
        }
    }
}

/// A scalar type a tensor can hold (`f32` or `f64`).
pub trait Element:
    Float
    + NumAssign
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The matching runtime dtype.
    const DTYPE: DType;
    /// Wraps an array of this element type into type-erased storage.
    fn wrap(array: ArrayD<Self>) -> Data;
    /// Borrows the array if the storage holds this element type.
    fn unwrap_ref(data: &Data) -> Option<&Storage<Self>>;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64_lossy(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64_exact(self) -> f64;
    /// `eˣ`, vectorisable when inlined into a loop: the polynomial of
    /// [`fastmath`](crate::fastmath) for `f32` (≤ 3 ulp), libm for `f64` (exact rounding
    /// matters more than speed in f64 checks).
    fn exp_fast(self) -> Self;
    /// `eˣ − 1`, vectorisable when inlined into a loop:
    /// [`fastmath::exp_m1_f32`](crate::fastmath::exp_m1_f32) for `f32` (≤ 2 ulp), libm for
    /// `f64`.
    fn exp_m1_fast(self) -> Self;
    /// `ln x`, vectorisable when inlined into a loop: [`fastmath::ln_f32`](crate::fastmath::ln_f32)
    /// for `f32` (≤ 2 ulp), libm for `f64`.
    fn ln_fast(self) -> Self;
    /// `tanh x`, vectorisable when inlined into a loop: [`fastmath::tanh_f32`](crate::fastmath::tanh_f32)
    /// for `f32` (≤ 4 ulp), libm for `f64`.
    fn tanh_fast(self) -> Self;
    /// `ln(1 + x)`, vectorisable when inlined into a loop:
    /// [`fastmath::ln_1p_f32`](crate::fastmath::ln_1p_f32) for `f32` (≤ 4 ulp), libm for `f64`.
    fn ln_1p_fast(self) -> Self;
    /// `sin x`, vectorisable when inlined into a loop: [`fastmath::sin_f64`](crate::fastmath::sin_f64)
    /// (≤ 2 ulp; in `f64` for `f32`). Unlike `exp`, `f64` uses it too: libm's scalar `sin`
    /// and `cos` were 26 % of the f64 manifold Earth step.
    fn sin_fast(self) -> Self;
    /// `cos x`, vectorisable when inlined into a loop: [`fastmath::cos_f64`](crate::fastmath::cos_f64)
    /// (≤ 2 ulp; in `f64` for `f32`).
    fn cos_fast(self) -> Self;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn wrap(array: ArrayD<Self>) -> Data {
        Data::F32(array.into_shared())
    }
    fn unwrap_ref(data: &Data) -> Option<&Storage<Self>> {
        match data {
            Data::F32(a) => Some(a),
            Data::F64(_) => None,
        }
    }
    fn from_f64_lossy(x: f64) -> Self {
        x as f32
    }
    fn to_f64_exact(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        crate::fastmath::exp_f32(self)
    }
    #[inline(always)]
    fn exp_m1_fast(self) -> Self {
        crate::fastmath::exp_m1_f32(self)
    }
    #[inline(always)]
    fn ln_fast(self) -> Self {
        crate::fastmath::ln_f32(self)
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        crate::fastmath::tanh_f32(self)
    }
    #[inline(always)]
    fn ln_1p_fast(self) -> Self {
        crate::fastmath::ln_1p_f32(self)
    }
    fn sin_fast(self) -> Self {
        crate::fastmath::sin_f64(f64::from(self)) as f32
    }
    fn cos_fast(self) -> Self {
        crate::fastmath::cos_f64(f64::from(self)) as f32
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn wrap(array: ArrayD<Self>) -> Data {
        Data::F64(array.into_shared())
    }
    fn unwrap_ref(data: &Data) -> Option<&Storage<Self>> {
        match data {
            Data::F64(a) => Some(a),
            Data::F32(_) => None,
        }
    }
    fn from_f64_lossy(x: f64) -> Self {
        x
    }
    fn to_f64_exact(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        self.exp()
    }
    fn exp_m1_fast(self) -> Self {
        self.exp_m1()
    }
    fn ln_fast(self) -> Self {
        self.ln()
    }
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
    fn ln_1p_fast(self) -> Self {
        self.ln_1p()
    }
    fn sin_fast(self) -> Self {
        crate::fastmath::sin_f64(self)
    }
    fn cos_fast(self) -> Self {
        crate::fastmath::cos_f64(self)
    }
}
