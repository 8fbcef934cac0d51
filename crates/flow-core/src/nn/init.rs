//! Weight initialisers.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::dtype::DType;
use crate::tensor::Tensor;

/// How to initialise a weight of shape `[fan_out, fan_in]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Init {
    /// `U(−1/√fan_in, 1/√fan_in)`: PyTorch's `nn.Linear` default (Kaiming uniform with a = √5).
    #[default]
    TorchDefault,
    /// Kaiming (He) normal for ReLU-like nets: `N(0, 2 / fan_in)`.
    KaimingNormal,
    /// Kaiming uniform: `U(−√(6/fan_in), √(6/fan_in))`.
    KaimingUniform,
    /// Xavier (Glorot) uniform: `U(−a, a)`, `a = √(6 / (fan_in + fan_out))`.
    XavierUniform,
    /// Xavier normal: `N(0, 2 / (fan_in + fan_out))`.
    XavierNormal,
    /// All zeros (e.g. the last layer of a residual branch or coupling subnet: starts at identity).
    Zeros,
}

impl Init {
    /// A tensor of `shape` initialised by this rule with the given fans.
    pub fn sample<R: Rng + ?Sized>(
        self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
        dtype: DType,
        rng: &mut R,
    ) -> Tensor {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform = |a: f64, rng: &mut R| Tensor::rand_uniform(shape, -a, a, dtype, rng);
        match self {
            Init::TorchDefault => uniform(1.0 / fi.sqrt(), rng),
            Init::KaimingUniform => uniform((6.0 / fi).sqrt(), rng),
            Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt(), rng),
            Init::KaimingNormal => Tensor::randn(shape, dtype, rng).mul_scalar((2.0 / fi).sqrt()),
            Init::XavierNormal => {
                Tensor::randn(shape, dtype, rng).mul_scalar((2.0 / (fi + fo)).sqrt())
            }
            Init::Zeros => Tensor::zeros(shape, dtype),
        }
        .detach()
    }
}
