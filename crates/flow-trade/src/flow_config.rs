//! Settings of the parameter-aware flow [`ParamFlow`] (`trade.md` §2.1): the coupling type,
//! the latent's dependence on `c`, whether and how `c` enters the subnets, the optional
//! `c`-dependent final affine layer, and the builder that assembles them.

use flow_core::DType;
use flow_core::nn::{Activation, Init, MlpConfig};
use flow_coupling::bijections::{ActiveHalf, AdditiveCoupling, SplineConfig, VolumePreserving};
use flow_coupling::{
    Bijection, ConditionConfig, Flow, Normalization, NsfConfig, RealNvpConfig, SubnetConfig,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::flow::ParamFlow;

/// The coupling stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Architecture {
    /// Affine (RealNVP/GLOW-style) couplings with tanh soft clamp of the log-scales.
    Affine {
        /// Soft-clamp bound.
        clamp: f64,
    },
    /// Rational-quadratic spline couplings (Durkan et al., arXiv 1906.04032).
    Spline {
        /// Bins.
        bins: usize,
        /// Half-width of the spline's support (identity tails outside).
        bound: f64,
    },
    /// GIN couplings, `log|det| = 0` exactly: the volume-preserving (temperature-steerable)
    /// baseline of Dibak et al., arXiv 2108.01590. Never conditional.
    VolumePreserving {
        /// Soft-clamp bound of GIN's raw log-scales.
        clamp: f64,
    },
}

/// How the latent variance depends on `c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatentScale {
    /// `N(0, I)`.
    None,
    /// `N(0, c I)` (c a temperature).
    Temperature,
    /// `N(0, I / c)` (c an inverse temperature).
    InverseTemperature,
}

/// Settings of a [`ParamFlow`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamFlowConfig {
    /// Event dimension (≥ 2).
    pub dim: usize,
    /// Coupling blocks.
    pub blocks: usize,
    /// Subnet hidden widths (SiLU).
    pub hidden: Vec<usize>,
    /// The coupling type.
    pub architecture: Architecture,
    /// Whether the subnets see `log c` (false: an unconditional flow, e.g. the NLL + latent
    /// temperature-scaling baseline).
    pub conditional: bool,
    /// Optional MLP `log c → hidden → width` before the subnets (`None`: `log c` itself).
    pub embedding: Option<(Vec<usize>, usize)>,
    /// Optional `c`-dependent final affine layer with this MLP hidden width.
    pub final_affine: Option<usize>,
    /// The latent's dependence on `c`.
    pub latent: LatentScale,
    /// Symmetrise under `x → −x` (the φ⁴ Z₂ symmetry):
    /// `q(x|c) = ½ q̃(x|c) + ½ q̃(−x|c)`, sampled as `x = s·x̃`, `x̃ ~ q̃`, `s = ±1`.
    #[serde(default)]
    pub z2_symmetric: bool,
}

impl ParamFlowConfig {
    /// A conditional affine flow: `blocks` couplings, subnets `hidden`, clamp 2, `log c`
    /// embedding, no final affine, latent `N(0, c I)`.
    pub fn affine(dim: usize, blocks: usize, hidden: &[usize]) -> ParamFlowConfig {
        ParamFlowConfig {
            dim,
            blocks,
            hidden: hidden.to_vec(),
            architecture: Architecture::Affine { clamp: 2.0 },
            conditional: true,
            embedding: None,
            final_affine: None,
            latent: LatentScale::Temperature,
            z2_symmetric: false,
        }
    }

    /// Sets the `x → −x` symmetrisation.
    pub fn with_z2_symmetric(mut self, on: bool) -> Self {
        self.z2_symmetric = on;
        self
    }

    /// Sets the architecture.
    pub fn with_architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = architecture;
        self
    }

    /// Sets whether the subnets see `c`.
    pub fn with_conditional(mut self, conditional: bool) -> Self {
        self.conditional = conditional;
        self
    }

    /// Sets the latent scaling.
    pub fn with_latent(mut self, latent: LatentScale) -> Self {
        self.latent = latent;
        self
    }

    /// Adds an MLP embedding of `log c`.
    pub fn with_embedding(mut self, hidden: &[usize], width: usize) -> Self {
        self.embedding = Some((hidden.to_vec(), width));
        self
    }

    /// Adds the `c`-dependent final affine layer.
    pub fn with_final_affine(mut self, hidden: usize) -> Self {
        self.final_affine = Some(hidden);
        self
    }

    /// Builds the flow (f64 or f32 per `dtype`). A conditional flow's subnets start with the
    /// passive-input scale of the unconditional flow ([`crate::init`]).
    ///
    /// # Panics
    /// If `dim < 2`, or a volume-preserving flow is asked to be conditional.
    pub fn build<R: Rng + ?Sized>(&self, dtype: DType, rng: &mut R) -> ParamFlow {
        assert!(
            self.dim >= 2,
            "ParamFlowConfig: dim must be ≥ 2, got {}",
            self.dim
        );
        let cond = self.conditional.then(|| {
            let c = ConditionConfig::new(1);
            match &self.embedding {
                Some((h, w)) => c.with_embedding(h, *w, Activation::Silu),
                None => c,
            }
        });
        let flow = match self.architecture {
            Architecture::Affine { clamp } => {
                let mut cfg = RealNvpConfig::new(self.dim)
                    .with_blocks(self.blocks)
                    .with_hidden(&self.hidden)
                    .with_activation(Activation::Silu)
                    .with_normalization(Normalization::None)
                    .with_clamp(clamp);
                if let Some(c) = cond {
                    cfg = cfg.with_condition(c);
                }
                cfg.build(dtype, rng)
            }
            Architecture::Spline { bins, bound } => {
                let mut cfg = NsfConfig::new(self.dim)
                    .with_blocks(self.blocks)
                    .with_hidden(&self.hidden)
                    .with_activation(Activation::Silu)
                    .with_normalization(Normalization::None)
                    .with_mixing(flow_coupling::Mixing::Alternate)
                    .with_spline(SplineConfig::new(bins, bound));
                if let Some(c) = cond {
                    cfg = cfg.with_condition(c);
                }
                cfg.build(dtype, rng)
            }
            Architecture::VolumePreserving { clamp } => {
                assert!(
                    !self.conditional,
                    "ParamFlowConfig: the volume-preserving baseline is unconditional"
                );
                let subnet = SubnetConfig::new(&self.hidden).with_activation(Activation::Silu);
                let layers = (0..self.blocks)
                    .map(|b| {
                        Box::new(AdditiveCoupling::new(
                            &format!("layers.{b}"),
                            VolumePreserving::Gin { clamp },
                            self.dim,
                            ActiveHalf::alternating(b),
                            &subnet,
                            None,
                            dtype,
                            rng,
                        )) as Box<dyn Bijection>
                    })
                    .collect();
                Flow::new(self.dim, dtype, layers)
            }
        };
        if self.conditional {
            let features = self.embedding.as_ref().map_or(1, |(_, w)| *w);
            crate::init::match_unconditional_init(&flow, features);
        }
        let final_affine = self.final_affine.map(|h| {
            MlpConfig::new(1, &[h, h], 2 * self.dim)
                .with_activation(Activation::Silu)
                .with_last_init(Init::Zeros)
                .build("final_affine", dtype, rng)
        });
        ParamFlow {
            flow,
            final_affine,
            conditional: self.conditional,
            latent: self.latent,
            z2: self.z2_symmetric,
            dim: self.dim,
            dtype,
        }
    }
}
