//! Activation functions as a typed, serialisable choice.

use serde::{Deserialize, Serialize};

use crate::tensor::Tensor;

/// An element-wise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` or `slope · x`.
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f64,
    },
    /// Exponential linear unit (α = 1).
    Elu,
    /// `x σ(x)`.
    #[default]
    Silu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `ln(1 + eˣ)`.
    Softplus,
    /// `sin x` (SIREN-style).
    Sin,
    /// No nonlinearity.
    Identity,
}

impl Activation {
    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { slope } => x.leaky_relu(slope),
            Activation::Elu => x.elu(),
            Activation::Silu => x.silu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Softplus => x.softplus(),
            Activation::Sin => x.sin(),
            Activation::Identity => x.clone(),
        }
    }
}
