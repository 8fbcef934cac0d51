//! Fully connected layer `y = x Wᵀ + b` (PyTorch layout: `W` is `[out, in]`).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::init::Init;
use super::param::{Module, Param, join_name};
use crate::dtype::DType;
use crate::tensor::Tensor;

/// Configuration of a [`Linear`] layer.
///
/// ```
/// use flow_core::nn::{LinearConfig, Init};
/// let cfg = LinearConfig::new(8, 256).with_bias(false).with_init(Init::XavierUniform);
/// assert_eq!(cfg.output, 256);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearConfig {
    /// Input features.
    pub input: usize,
    /// Output features.
    pub output: usize,
    /// Whether to add a bias.
    pub bias: bool,
    /// Weight initialiser (the bias uses `U(±1/√in)` like PyTorch, or zeros with `Init::Zeros`).
    pub init: Init,
}

impl LinearConfig {
    /// `input → output` with bias and PyTorch's default initialisation.
    pub fn new(input: usize, output: usize) -> LinearConfig {
        LinearConfig {
            input,
            output,
            bias: true,
            init: Init::TorchDefault,
        }
    }
    /// Sets whether the layer has a bias.
    pub fn with_bias(mut self, bias: bool) -> LinearConfig {
        self.bias = bias;
        self
    }
    /// Sets the weight initialiser.
    pub fn with_init(mut self, init: Init) -> LinearConfig {
        self.init = init;
        self
    }
    /// Builds the layer; parameters are named `{prefix}.weight` and `{prefix}.bias`.
    pub fn build<R: Rng + ?Sized>(&self, prefix: &str, dtype: DType, rng: &mut R) -> Linear {
        let (i, o) = (self.input, self.output);
        let weight = Param::new(
            join_name(prefix, "weight"),
            self.init.sample(&[o, i], i, o, dtype, rng),
        );
        let bias = self.bias.then(|| {
            let init = if self.init == Init::Zeros {
                Init::Zeros
            } else {
                Init::TorchDefault
            };
            Param::new(
                join_name(prefix, "bias"),
                init.sample(&[o], i, o, dtype, rng),
            )
        });
        Linear {
            weight,
            bias,
            input: i,
            output: o,
        }
    }
}

/// A fully connected layer.
#[derive(Clone, Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Param,
    /// `[out]`, if any.
    pub bias: Option<Param>,
    input: usize,
    output: usize,
}

impl Linear {
    /// `x Wᵀ + b` for `x` of shape `[..., in]` (2-D or 3-D).
    ///
    /// # Panics
    /// If the last axis of `x` is not `in`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let last = x.shape().last().copied().unwrap_or(0);
        assert_eq!(
            last,
            self.input,
            "Linear: input {:?} does not end in {} features",
            x.shape(),
            self.input
        );
        // One fused op: the bias is accumulated inside the matrix product (ops/linear.rs).
        let (weight, bias) = (self.weight.get(), self.bias.as_ref().map(Param::get));
        if x.ndim() == 2 {
            return x.linear(&weight, bias.as_ref());
        }
        let lead: usize = x.shape()[..x.ndim() - 1].iter().product();
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("non-empty") = self.output;
        x.reshape(&[lead, self.input])
            .linear(&weight, bias.as_ref())
            .reshape(&shape)
    }

    /// Input features.
    pub fn input_dim(&self) -> usize {
        self.input
    }

    /// Output features.
    pub fn output_dim(&self) -> usize {
        self.output
    }
}

impl Module for Linear {
    fn parameters(&self) -> Vec<Param> {
        let mut p = vec![self.weight.clone()];
        p.extend(self.bias.clone());
        p
    }
}
