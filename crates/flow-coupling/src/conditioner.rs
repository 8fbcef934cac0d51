//! The coupling subnet ("conditioner"): an MLP from the passive half (and the condition,
//! concatenated, optionally after a small embedding network) to the raw parameters of the
//! element-wise transform of the active half.

use flow_core::nn::{Activation, Init, Mlp, MlpConfig, Module, Param, join_name};
use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A small MLP applied to the condition before it is concatenated to the passive half
/// (TRADE's `ParameterAwareCouplingBlock`: `emb(c)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Embedding width.
    pub output: usize,
    /// Nonlinearity.
    pub activation: Activation,
}

/// How a condition `c: [batch, dim]` enters the coupling subnets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionConfig {
    /// Width of the condition.
    pub dim: usize,
    /// Optional embedding network; `None` concatenates `c` itself.
    pub embedding: Option<EmbeddingConfig>,
}

impl ConditionConfig {
    /// A condition of width `dim`, concatenated as is.
    pub fn new(dim: usize) -> ConditionConfig {
        ConditionConfig {
            dim,
            embedding: None,
        }
    }

    /// Passes the condition through an MLP `dim → hidden → output` first.
    pub fn with_embedding(
        mut self,
        hidden: &[usize],
        output: usize,
        activation: Activation,
    ) -> ConditionConfig {
        self.embedding = Some(EmbeddingConfig {
            hidden: hidden.to_vec(),
            output,
            activation,
        });
        self
    }

    /// Width of what is concatenated to the passive half.
    pub fn features(&self) -> usize {
        self.embedding.as_ref().map_or(self.dim, |e| e.output)
    }
}

/// Configuration of the coupling subnet's MLP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubnetConfig {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Nonlinearity.
    pub activation: Activation,
}

impl SubnetConfig {
    /// An MLP with the given hidden widths and ReLU.
    pub fn new(hidden: &[usize]) -> SubnetConfig {
        SubnetConfig {
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
        }
    }

    /// Sets the nonlinearity.
    pub fn with_activation(mut self, activation: Activation) -> SubnetConfig {
        self.activation = activation;
        self
    }
}

/// Subnet `[x_passive, emb(c)] ↦ raw transform parameters`. The last layer is zero-initialised,
/// so every coupling starts as the identity (the transforms are parametrised so that raw
/// parameters 0 give the identity).
#[derive(Clone, Debug)]
pub struct Conditioner {
    net: Mlp,
    embedding: Option<Mlp>,
    cond_dim: Option<usize>,
}

impl Conditioner {
    /// Builds the subnet for `input` passive features and `output` raw parameters; parameters
    /// are named `{prefix}.subnet.*` and `{prefix}.embedding.*`.
    pub fn build<R: Rng + ?Sized>(
        prefix: &str,
        input: usize,
        output: usize,
        subnet: &SubnetConfig,
        condition: Option<&ConditionConfig>,
        dtype: DType,
        rng: &mut R,
    ) -> Conditioner {
        let extra = condition.map_or(0, ConditionConfig::features);
        let embedding = condition.and_then(|c| {
            c.embedding.as_ref().map(|e| {
                MlpConfig::new(c.dim, &e.hidden, e.output)
                    .with_activation(e.activation)
                    .build(&join_name(prefix, "embedding"), dtype, rng)
            })
        });
        let net = MlpConfig::new(input + extra, &subnet.hidden, output)
            .with_activation(subnet.activation)
            .with_last_init(Init::Zeros)
            .build(&join_name(prefix, "subnet"), dtype, rng);
        Conditioner {
            net,
            embedding,
            cond_dim: condition.map(|c| c.dim),
        }
    }

    /// The declared condition width.
    pub fn cond_dim(&self) -> Option<usize> {
        self.cond_dim
    }

    /// Raw parameters `[batch, output]` for the passive half `[batch, input]`.
    /// Shapes are checked by the owning coupling.
    pub fn forward(&self, passive: &Tensor, cond: Option<&Tensor>) -> Tensor {
        let input = match cond {
            None => passive.clone(),
            Some(c) => {
                let e = self
                    .embedding
                    .as_ref()
                    .map_or_else(|| c.clone(), |m| m.forward(c));
                Tensor::concat(&[passive, &e], 1)
            }
        };
        self.net.forward(&input)
    }
}

impl Module for Conditioner {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.net.parameters();
        if let Some(e) = &self.embedding {
            p.extend(e.parameters());
        }
        p
    }
}
