//! Multi-layer perceptrons and residual MLPs.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::init::Init;
use super::linear::{Linear, LinearConfig};
use super::param::{Module, Param, join_name};
use crate::dtype::DType;
use crate::tensor::Tensor;

/// Configuration of an [`Mlp`]: `input → hidden[0] → … → output`, activation between layers.
///
/// ```
/// use flow_core::nn::{MlpConfig, Activation, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let mlp = MlpConfig::new(8, &[256, 256], 8).with_activation(Activation::Silu)
///     .build("net", flow_core::DType::F32, &mut rng);
/// assert_eq!(mlp.parameters()[0].name(), "net.layers.0.weight");
/// let y = mlp.forward(&flow_core::Tensor::zeros(&[4, 8], flow_core::DType::F32));
/// assert_eq!(y.shape(), &[4, 8]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Input features.
    pub input: usize,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// Output features.
    pub output: usize,
    /// Nonlinearity between layers (none after the last).
    pub activation: Activation,
    /// Initialiser of hidden layers.
    pub init: Init,
    /// Initialiser of the last layer (`Init::Zeros` makes the net start at zero output).
    pub last_init: Init,
}

impl MlpConfig {
    /// An MLP with SiLU and PyTorch-default initialisation.
    pub fn new(input: usize, hidden: &[usize], output: usize) -> MlpConfig {
        MlpConfig {
            input,
            hidden: hidden.to_vec(),
            output,
            activation: Activation::Silu,
            init: Init::TorchDefault,
            last_init: Init::TorchDefault,
        }
    }
    /// Sets the nonlinearity.
    pub fn with_activation(mut self, activation: Activation) -> MlpConfig {
        self.activation = activation;
        self
    }
    /// Sets the hidden layers' initialiser.
    pub fn with_init(mut self, init: Init) -> MlpConfig {
        self.init = init;
        self
    }
    /// Sets the last layer's initialiser.
    pub fn with_last_init(mut self, init: Init) -> MlpConfig {
        self.last_init = init;
        self
    }
    /// Builds the network; layer `i` is named `{prefix}.layers.{i}`.
    pub fn build<R: Rng + ?Sized>(&self, prefix: &str, dtype: DType, rng: &mut R) -> Mlp {
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        widths.push(self.output);
        let n = widths.len() - 1;
        let layers = (0..n)
            .map(|i| {
                let init = if i + 1 == n {
                    self.last_init
                } else {
                    self.init
                };
                LinearConfig::new(widths[i], widths[i + 1])
                    .with_init(init)
                    .build(&join_name(prefix, &format!("layers.{i}")), dtype, rng)
            })
            .collect();
        Mlp {
            layers,
            activation: self.activation,
        }
    }
}

/// A multi-layer perceptron.
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The affine layers.
    pub layers: Vec<Linear>,
    /// The nonlinearity between layers.
    pub activation: Activation,
}

impl Mlp {
    /// Applies the network to `[batch, input]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h);
            if i + 1 < self.layers.len() {
                h = self.activation.apply(&h);
            }
        }
        h
    }
}

impl Module for Mlp {
    fn parameters(&self) -> Vec<Param> {
        self.layers.iter().flat_map(Module::parameters).collect()
    }
}

/// Configuration of a [`ResidualMlp`]: `Linear(input→width)`, then `blocks` residual blocks
/// `h ← h + MLP(h)` (each MLP with `depth` hidden layers of `width`, last layer zero-initialised
/// so every block starts as the identity), then `Linear(width→output)`. The free-form networks
/// of the FFF/FIF papers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResidualMlpConfig {
    /// Input features.
    pub input: usize,
    /// Output features.
    pub output: usize,
    /// Width of the residual stream and of the hidden layers.
    pub width: usize,
    /// Number of residual blocks.
    pub blocks: usize,
    /// Hidden layers per block.
    pub depth: usize,
    /// Nonlinearity.
    pub activation: Activation,
}

impl ResidualMlpConfig {
    /// Builds the network; parameters are named `{prefix}.input`, `{prefix}.blocks.{i}`,
    /// `{prefix}.output`.
    pub fn build<R: Rng + ?Sized>(&self, prefix: &str, dtype: DType, rng: &mut R) -> ResidualMlp {
        let input = LinearConfig::new(self.input, self.width).build(
            &join_name(prefix, "input"),
            dtype,
            rng,
        );
        let blocks = (0..self.blocks)
            .map(|i| {
                MlpConfig::new(self.width, &vec![self.width; self.depth], self.width)
                    .with_activation(self.activation)
                    .with_last_init(Init::Zeros)
                    .build(&join_name(prefix, &format!("blocks.{i}")), dtype, rng)
            })
            .collect();
        let output = LinearConfig::new(self.width, self.output).build(
            &join_name(prefix, "output"),
            dtype,
            rng,
        );
        ResidualMlp {
            input,
            blocks,
            output,
        }
    }
}

/// A residual MLP (see [`ResidualMlpConfig`]).
#[derive(Clone, Debug)]
pub struct ResidualMlp {
    /// Projection into the residual stream.
    pub input: Linear,
    /// Residual branches.
    pub blocks: Vec<Mlp>,
    /// Projection out of the residual stream.
    pub output: Linear,
}

impl ResidualMlp {
    /// Applies the network to `[batch, input]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = self.input.forward(x);
        for block in &self.blocks {
            h = h.add(&block.forward(&h));
        }
        self.output.forward(&h)
    }
}

impl Module for ResidualMlp {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.input.parameters();
        p.extend(self.blocks.iter().flat_map(Module::parameters));
        p.extend(self.output.parameters());
        p
    }
}
