//! Residual MLPs in the layout of the official free-form networks.
//!
//! References: FFF arXiv:2310.16624, §5 and App. (ResNet encoder/decoder, `u ← u + MLP(u)`);
//! FIF arXiv:2306.01843, §5 (the same blocks followed by `Linear(D → d)`; mirrored decoder).
//! The optional fully connected front follows the official SBI configuration
//! (`configs/fff/sbi_base.yaml`: a `FullyConnectedNetwork` of `[256, 256]` before the ResNet).

use flow_core::nn::{Activation, Init, Linear, LinearConfig, Mlp, MlpConfig, Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::model::Network;

/// Configuration of a [`ResNet`] encoder/decoder pair.
///
/// Encoder: `blocks` residual blocks `u ← u + MLP([u, c])` on the data vector (width D), then
/// `Linear(D → d)` if `latent_dim < data_dim`. Decoder: `Linear(d → D)` if needed, then its own
/// blocks. With one block and no projection this is the toy network `x + MLP(x)`.
///
/// With a non-empty `front`, the encoder first applies a plain (non-residual) MLP
/// `[x, c] → front… → D` and the decoder ends with its mirror `[u, c] → front reversed… → D`,
/// as the official SBI models compose a `FullyConnectedNetwork` with a `ResNet`. A plain MLP
/// can rescale a thin conditional posterior by orders of magnitude in a few layers, which
/// residual blocks near the identity do slowly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Data dimension D.
    pub data_dim: usize,
    /// Latent dimension d ≤ D.
    pub latent_dim: usize,
    /// Condition features concatenated to every block's input (0: unconditional).
    pub condition_dim: usize,
    /// Hidden widths of each block's MLP.
    pub hidden: Vec<usize>,
    /// Number of residual blocks.
    pub blocks: usize,
    /// Nonlinearity (any; the notebook warns that ReLU trains unstably).
    pub activation: Activation,
    /// Initialiser of each block's last layer (`Init::Zeros` starts at the identity; the
    /// official code uses PyTorch's default).
    pub block_last_init: Init,
    /// Hidden widths of the fully connected front network (empty: none).
    #[serde(default)]
    pub front: Vec<usize>,
}

impl ResNetConfig {
    /// SiLU blocks with PyTorch-default initialisation.
    pub fn new(data_dim: usize, latent_dim: usize, hidden: &[usize], blocks: usize) -> Self {
        ResNetConfig {
            data_dim,
            latent_dim,
            condition_dim: 0,
            hidden: hidden.to_vec(),
            blocks,
            activation: Activation::Silu,
            block_last_init: Init::TorchDefault,
            front: Vec::new(),
        }
    }
    /// Adds a fully connected front network with these hidden widths (see the type's docs).
    pub fn with_front(mut self, hidden: &[usize]) -> Self {
        self.front = hidden.to_vec();
        self
    }
    /// Sets the activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
    /// Sets the condition size.
    pub fn with_condition(mut self, condition_dim: usize) -> Self {
        self.condition_dim = condition_dim;
        self
    }
    /// Sets the initialiser of each block's last layer.
    pub fn with_block_last_init(mut self, init: Init) -> Self {
        self.block_last_init = init;
        self
    }

    fn blocks<R: Rng + ?Sized>(&self, prefix: &str, dtype: DType, rng: &mut R) -> Vec<Mlp> {
        (0..self.blocks)
            .map(|i| {
                MlpConfig::new(
                    self.data_dim + self.condition_dim,
                    &self.hidden,
                    self.data_dim,
                )
                .with_activation(self.activation)
                .with_last_init(self.block_last_init)
                .build(&format!("{prefix}.blocks.{i}"), dtype, rng)
            })
            .collect()
    }

    fn build_front<R: Rng + ?Sized>(
        &self,
        prefix: &str,
        reversed: bool,
        dtype: DType,
        rng: &mut R,
    ) -> Option<Mlp> {
        if self.front.is_empty() {
            return None;
        }
        let mut hidden = self.front.clone();
        if reversed {
            hidden.reverse();
        }
        let d = self.data_dim;
        let mlp = MlpConfig::new(d + self.condition_dim, &hidden, d)
            .with_activation(self.activation)
            .build(&format!("{prefix}.front"), dtype, rng);
        Some(mlp)
    }

    fn projection<R: Rng + ?Sized>(
        &self,
        prefix: &str,
        (i, o): (usize, usize),
        dtype: DType,
        rng: &mut R,
    ) -> Option<Linear> {
        assert!(
            self.latent_dim <= self.data_dim && self.latent_dim > 0,
            "ResNetConfig: latent dimension {} must be in 1..={}",
            self.latent_dim,
            self.data_dim
        );
        (self.latent_dim < self.data_dim)
            .then(|| LinearConfig::new(i, o).build(&format!("{prefix}.projection"), dtype, rng))
    }

    /// The encoder `R^D → R^d`.
    pub fn build_encoder<R: Rng + ?Sized>(
        &self,
        prefix: &str,
        dtype: DType,
        rng: &mut R,
    ) -> ResNet {
        let front = self.build_front(prefix, false, dtype, rng);
        let blocks = self.blocks(prefix, dtype, rng);
        let pair = (self.data_dim + self.condition_dim, self.latent_dim);
        let projection = self.projection(prefix, pair, dtype, rng);
        ResNet {
            front,
            blocks,
            projection,
            is_decoder: false,
            config: self.clone(),
        }
    }

    /// The decoder `R^d → R^D`.
    pub fn build_decoder<R: Rng + ?Sized>(
        &self,
        prefix: &str,
        dtype: DType,
        rng: &mut R,
    ) -> ResNet {
        let pair = (self.latent_dim + self.condition_dim, self.data_dim);
        let projection = self.projection(prefix, pair, dtype, rng);
        let blocks = self.blocks(prefix, dtype, rng);
        let front = self.build_front(prefix, true, dtype, rng);
        ResNet {
            front,
            blocks,
            projection,
            is_decoder: true,
            config: self.clone(),
        }
    }
}

/// A residual MLP encoder or decoder (see [`ResNetConfig`]).
#[derive(Clone, Debug)]
pub struct ResNet {
    front: Option<Mlp>,
    blocks: Vec<Mlp>,
    projection: Option<Linear>,
    is_decoder: bool,
    config: ResNetConfig,
}

fn with_condition(u: &Tensor, c: Option<&Tensor>) -> Tensor {
    match c {
        Some(c) => Tensor::concat(&[u, c], 1),
        None => u.clone(),
    }
}

impl ResNet {
    fn run_blocks(&self, mut u: Tensor, c: Option<&Tensor>) -> Tensor {
        for block in &self.blocks {
            u = u.add(&block.forward(&with_condition(&u, c)));
        }
        u
    }

    fn run_front(&self, u: Tensor, c: Option<&Tensor>) -> Tensor {
        match &self.front {
            Some(mlp) => mlp.forward(&with_condition(&u, c)),
            None => u,
        }
    }

    fn project(&self, u: Tensor, c: Option<&Tensor>) -> Tensor {
        match &self.projection {
            Some(p) => p.forward(&with_condition(&u, c)),
            None => u,
        }
    }
}

impl Network for ResNet {
    fn forward(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        let cd = self.config.condition_dim;
        assert!(
            x.ndim() == 2 && x.dim(1) == self.input_dim(),
            "ResNet: input {:?} is not [batch, {}]",
            x.shape(),
            self.input_dim()
        );
        match condition {
            Some(c) => assert!(
                c.ndim() == 2 && c.dim(1) == cd && c.dim(0) == x.dim(0),
                "ResNet: condition {:?} is not [{}, {cd}]",
                c.shape(),
                x.dim(0)
            ),
            None => assert_eq!(
                cd, 0,
                "ResNet: conditional network called without condition"
            ),
        }
        if self.is_decoder {
            let u = self.run_blocks(self.project(x.clone(), condition), condition);
            self.run_front(u, condition)
        } else {
            let u = self.run_blocks(self.run_front(x.clone(), condition), condition);
            self.project(u, condition)
        }
    }
    fn input_dim(&self) -> usize {
        if self.is_decoder {
            self.config.latent_dim
        } else {
            self.config.data_dim
        }
    }
    fn output_dim(&self) -> usize {
        if self.is_decoder {
            self.config.data_dim
        } else {
            self.config.latent_dim
        }
    }
    fn condition_dim(&self) -> usize {
        self.config.condition_dim
    }
}

impl Module for ResNet {
    fn parameters(&self) -> Vec<Param> {
        let mut p: Vec<Param> = Vec::new();
        if self.is_decoder {
            p.extend(self.projection.iter().flat_map(Module::parameters));
        } else {
            p.extend(self.front.iter().flat_map(Module::parameters));
        }
        p.extend(self.blocks.iter().flat_map(Module::parameters));
        if self.is_decoder {
            p.extend(self.front.iter().flat_map(Module::parameters));
        } else {
            p.extend(self.projection.iter().flat_map(Module::parameters));
        }
        p
    }
}
