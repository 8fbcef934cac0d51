//! Ready-made flows with typed configs: RealNVP, Glow-style and Neural Spline Flows.
//! Layers are named `layers.{i}.*`, so checkpoints of equal configs are interchangeable.

use flow_core::DType;
use flow_core::nn::Activation;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::bijection::Bijection;
use crate::bijections::{
    ActNorm, ActiveHalf, AffineCoupling, FixedRotation, LuLinear, Permutation, SoftClamp,
    SplineConfig, SplineCoupling,
};
use crate::conditioner::{ConditionConfig, SubnetConfig};
use crate::flow::Flow;

/// Normalisation layer at the start of every block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Normalization {
    /// None.
    None,
    /// [`ActNorm`] (initialise with [`Flow::initialize`]).
    ActNorm,
}

/// How features are mixed between couplings (the active half always alternates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mixing {
    /// Only alternate the active half.
    Alternate,
    /// A fixed random [`Permutation`] after each coupling but the last.
    RandomPermutation,
    /// A learnable [`LuLinear`] after each coupling but the last.
    LuLinear,
    /// A fixed Haar-random [`FixedRotation`] after each coupling but the last (the rotations
    /// of the universality construction, arXiv 2402.06578, and of the whitening analysis,
    /// arXiv 2210.14032): every coupling then acts in new coordinates.
    FixedRotation,
}

/// The shared shape of a coupling stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackConfig {
    /// Event dimension.
    pub dim: usize,
    /// Number of coupling blocks.
    pub blocks: usize,
    /// The coupling subnet.
    pub subnet: SubnetConfig,
    /// Per-block normalisation.
    pub normalization: Normalization,
    /// Mixing between couplings.
    pub mixing: Mixing,
    /// Optional condition.
    pub condition: Option<ConditionConfig>,
}

impl StackConfig {
    fn new(dim: usize, mixing: Mixing) -> StackConfig {
        StackConfig {
            dim,
            blocks: 8,
            subnet: SubnetConfig::new(&[64, 64]).with_activation(Activation::Relu),
            normalization: Normalization::ActNorm,
            mixing,
            condition: None,
        }
    }

    fn build<R: Rng + ?Sized>(
        &self,
        dtype: DType,
        rng: &mut R,
        mut coupling: impl FnMut(String, ActiveHalf, &mut R) -> Box<dyn Bijection>,
    ) -> Flow {
        let mut layers: Vec<Box<dyn Bijection>> = Vec::new();
        for b in 0..self.blocks {
            if self.normalization == Normalization::ActNorm {
                let n = format!("layers.{}", layers.len());
                layers.push(Box::new(ActNorm::new(&n, self.dim, dtype)));
            }
            let n = format!("layers.{}", layers.len());
            layers.push(coupling(n, ActiveHalf::alternating(b), rng));
            if b + 1 < self.blocks {
                let n = format!("layers.{}", layers.len());
                match self.mixing {
                    Mixing::Alternate => {}
                    Mixing::RandomPermutation => {
                        layers.push(Box::new(Permutation::random(&n, self.dim, rng)))
                    }
                    Mixing::LuLinear => {
                        layers.push(Box::new(LuLinear::new(&n, self.dim, dtype, rng)))
                    }
                    Mixing::FixedRotation => {
                        layers.push(Box::new(FixedRotation::random(&n, self.dim, dtype, rng)))
                    }
                }
            }
        }
        Flow::new(self.dim, dtype, layers)
    }
}

macro_rules! stack_builders {
    ($t:ty) => {
        impl $t {
            /// Sets the number of coupling blocks.
            pub fn with_blocks(mut self, blocks: usize) -> Self {
                self.stack.blocks = blocks;
                self
            }
            /// Sets the subnet's hidden widths.
            pub fn with_hidden(mut self, hidden: &[usize]) -> Self {
                self.stack.subnet.hidden = hidden.to_vec();
                self
            }
            /// Sets the subnet's nonlinearity.
            pub fn with_activation(mut self, activation: Activation) -> Self {
                self.stack.subnet.activation = activation;
                self
            }
            /// Sets the per-block normalisation.
            pub fn with_normalization(mut self, normalization: Normalization) -> Self {
                self.stack.normalization = normalization;
                self
            }
            /// Sets the mixing between couplings.
            pub fn with_mixing(mut self, mixing: Mixing) -> Self {
                self.stack.mixing = mixing;
                self
            }
            /// Makes the flow conditional.
            pub fn with_condition(mut self, condition: ConditionConfig) -> Self {
                self.stack.condition = Some(condition);
                self
            }
        }
    };
}

/// A stack of affine couplings (RealNVP and Glow differ only in the mixing).
fn build_affine_stack<R: Rng + ?Sized>(
    stack: &StackConfig,
    clamp: f64,
    soft_clamp: SoftClamp,
    dtype: DType,
    rng: &mut R,
) -> Flow {
    stack.build(dtype, rng, |name, active, rng| {
        let coupling = AffineCoupling::new(
            &name,
            clamp,
            stack.dim,
            active,
            &stack.subnet,
            stack.condition.as_ref(),
            dtype,
            rng,
        );
        Box::new(coupling.with_soft_clamp(soft_clamp))
    })
}

/// RealNVP: `blocks × [ActNorm → affine coupling]` with alternating halves.
/// References: Dinh et al., arXiv 1605.08803.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealNvpConfig {
    /// The stack.
    pub stack: StackConfig,
    /// Soft-clamp bound of the log-scales.
    pub clamp: f64,
    /// Soft-clamp function (tanh unless set).
    #[serde(default)]
    pub soft_clamp: SoftClamp,
}

impl RealNvpConfig {
    /// 8 blocks, subnets `[64, 64]` ReLU, ActNorm, clamp 2, alternating halves.
    pub fn new(dim: usize) -> RealNvpConfig {
        RealNvpConfig {
            stack: StackConfig::new(dim, Mixing::Alternate),
            clamp: 2.0,
            soft_clamp: SoftClamp::Tanh,
        }
    }

    /// Sets the soft-clamp bound.
    pub fn with_clamp(mut self, clamp: f64) -> RealNvpConfig {
        self.clamp = clamp;
        self
    }

    /// Builds the flow.
    ///
    /// # Panics
    /// If `dim < 2` or `clamp ≤ 0`.
    pub fn build<R: Rng + ?Sized>(&self, dtype: DType, rng: &mut R) -> Flow {
        build_affine_stack(&self.stack, self.clamp, self.soft_clamp, dtype, rng)
    }

    /// Sets the soft-clamp function.
    pub fn with_soft_clamp(mut self, soft_clamp: SoftClamp) -> Self {
        self.soft_clamp = soft_clamp;
        self
    }
}
stack_builders!(RealNvpConfig);

/// Glow-style: `blocks × [ActNorm → affine coupling → LU linear]`.
/// References: Kingma, Dhariwal, arXiv 1807.03039.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlowConfig {
    /// The stack.
    pub stack: StackConfig,
    /// Soft-clamp bound of the log-scales.
    pub clamp: f64,
    /// Soft-clamp function (tanh unless set).
    #[serde(default)]
    pub soft_clamp: SoftClamp,
}

impl GlowConfig {
    /// 8 blocks, subnets `[64, 64]` ReLU, ActNorm, LU mixing, clamp 2.
    pub fn new(dim: usize) -> GlowConfig {
        GlowConfig {
            stack: StackConfig::new(dim, Mixing::LuLinear),
            clamp: 2.0,
            soft_clamp: SoftClamp::Tanh,
        }
    }

    /// Builds the flow.
    ///
    /// # Panics
    /// If `dim < 2` or `clamp ≤ 0`.
    pub fn build<R: Rng + ?Sized>(&self, dtype: DType, rng: &mut R) -> Flow {
        build_affine_stack(&self.stack, self.clamp, self.soft_clamp, dtype, rng)
    }

    /// Sets the soft-clamp function.
    pub fn with_soft_clamp(mut self, soft_clamp: SoftClamp) -> Self {
        self.soft_clamp = soft_clamp;
        self
    }
}
stack_builders!(GlowConfig);

/// Neural Spline Flow, coupling variant: `blocks × [ActNorm → RQ-spline coupling → LU]`.
/// References: Durkan et al., arXiv 1906.04068.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NsfConfig {
    /// The stack.
    pub stack: StackConfig,
    /// Spline settings.
    pub spline: SplineConfig,
}

impl NsfConfig {
    /// 4 blocks, subnets `[64, 64]` ReLU, ActNorm, LU mixing, 8 bins on `[−4, 4]`.
    pub fn new(dim: usize) -> NsfConfig {
        let mut stack = StackConfig::new(dim, Mixing::LuLinear);
        stack.blocks = 4;
        NsfConfig {
            stack,
            spline: SplineConfig::new(8, 4.0),
        }
    }

    /// Sets the spline.
    pub fn with_spline(mut self, spline: SplineConfig) -> NsfConfig {
        self.spline = spline;
        self
    }

    /// Builds the flow.
    ///
    /// # Panics
    /// If `dim < 2` or the spline settings are invalid.
    pub fn build<R: Rng + ?Sized>(&self, dtype: DType, rng: &mut R) -> Flow {
        let s = &self.stack;
        s.build(dtype, rng, |name, active, rng| {
            Box::new(SplineCoupling::new(
                &name,
                self.spline,
                s.dim,
                active,
                &s.subnet,
                s.condition.as_ref(),
                dtype,
                rng,
            ))
        })
    }
}
stack_builders!(NsfConfig);
