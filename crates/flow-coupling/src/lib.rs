//! # flow-coupling
//!
//! Invertible building blocks and (conditional) normalizing flows on flow-core tensors:
//! additive/GIN, affine (tanh or atan soft clamp) and rational-quadratic spline couplings,
//! ActNorm, fixed permutations, LU-parametrised linear maps, fixed and learnable rotations and
//! a global scale; the [`Flow`] that stacks them over a standard-normal base; ready-made
//! RealNVP, Glow-style and NSF constructors; and maximum-likelihood / reverse-KL training with
//! clipping, NaN stops and resumable checkpoints.
//!
//! **Direction** (pinned in [`Bijection`]): `forward` maps data x → latent z and
//! `log p(x | c) = log p_Z(forward(x, c)) + ladj_forward(x, c)`; `inverse` samples.
//! **Conditioning**: an optional `cond: Option<&Tensor>` of declared shape `[batch, k]`,
//! concatenated to the coupling subnets' input (optionally through an embedding network):
//! one class per block, no parallel conditional hierarchy (used by TRADE, arXiv 2410.19492).
//!
//! Not here: experiment presets, plots and benchmarks (`flow-bench`); data and energies
//! (`flow-data`); free-form flows (`flow-freeform`).

pub mod bijection;
pub mod bijections;
pub mod conditioner;
pub mod flow;
pub mod linalg;
pub mod models;
pub mod prelude;
pub mod spec;
pub mod train;

pub use bijection::{Bijection, check_input};
pub use bijections::*;
pub use conditioner::{ConditionConfig, EmbeddingConfig, SubnetConfig};
pub use flow::Flow;
pub use models::{GlowConfig, Mixing, Normalization, NsfConfig, RealNvpConfig, StackConfig};
pub use spec::{FlowConfig, ModelSpec, load_model, save_model};
pub use train::{StepRecord, TrainConfig, TrainError, Trainer};
