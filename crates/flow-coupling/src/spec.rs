//! Self-describing flow checkpoints: [`save_model`] stores the weights with the [`ModelSpec`]
//! that built them, and [`load_model`] rebuilds the flow from the file alone.

use std::path::Path;

use flow_core::DType;
use flow_core::distributions::BaseConfig;
use flow_core::io::{Checkpoint, CheckpointError};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::flow::Flow;
use crate::models::{GlowConfig, NsfConfig, RealNvpConfig};
use crate::train::checkpointing::{flow_checkpoint, restore_flow};

/// A coupling architecture of [`crate::models`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum FlowConfig {
    /// RealNVP.
    RealNvp(RealNvpConfig),
    /// Glow.
    Glow(GlowConfig),
    /// Neural spline flow.
    Nsf(NsfConfig),
}

/// Everything that defines a flow: architecture, base, dtype, and the seed of the
/// initialisation (fixed permutations and rotations are drawn from it).
///
/// ```
/// use flow_coupling::{FlowConfig, ModelSpec, RealNvpConfig, load_model, save_model};
/// use flow_core::{DType, Tensor, distributions::BaseConfig};
/// let spec = ModelSpec {
///     flow: FlowConfig::RealNvp(RealNvpConfig::new(2)),
///     base: BaseConfig::StudentT { df: 5.0 },
///     dtype: DType::F64,
///     seed: 3,
/// };
/// let flow = spec.build();
/// let path = std::env::temp_dir().join(format!("spec-doc-{}.safetensors", std::process::id()));
/// save_model(&flow, &spec, &path).unwrap();
/// let (loaded, back) = load_model(&path).unwrap(); // the path alone
/// let x = Tensor::from_slice(&[0.3f64, -1.0], &[1, 2]);
/// assert_eq!(back, spec);
/// assert_eq!(loaded.log_prob(&x, None).item(), flow.log_prob(&x, None).item());
/// # std::fs::remove_file(&path).ok();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The architecture.
    pub flow: FlowConfig,
    /// The base distribution.
    #[serde(default)]
    pub base: BaseConfig,
    /// The dtype of parameters and samples.
    pub dtype: DType,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl ModelSpec {
    /// Builds the flow (at its initialisation).
    ///
    /// # Panics
    /// If the config is invalid (see each config's `build`, and [`BaseConfig::validate`]).
    pub fn build(&self) -> Flow {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let flow = match &self.flow {
            FlowConfig::RealNvp(c) => c.build(self.dtype, &mut rng),
            FlowConfig::Glow(c) => c.build(self.dtype, &mut rng),
            FlowConfig::Nsf(c) => c.build(self.dtype, &mut rng),
        };
        flow.with_base(&self.base, &mut rng)
    }

    fn dim(&self) -> usize {
        match &self.flow {
            FlowConfig::RealNvp(c) => c.stack.dim,
            FlowConfig::Glow(c) => c.stack.dim,
            FlowConfig::Nsf(c) => c.stack.dim,
        }
    }
}

/// Metadata key of the spec.
const KEY: &str = "model";

/// Saves `flow` (weights, buffers) with the spec that built it, atomically.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_model(
    flow: &Flow,
    spec: &ModelSpec,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    let mut ck = flow_checkpoint(flow);
    ck.set_config(KEY, spec);
    ck.save(path)
}

/// Rebuilds the flow a [`save_model`] file describes and loads its weights.
///
/// # Errors
/// [`CheckpointError::Metadata`] naming the field when the spec is missing, of another format
/// version, unparsable or invalid; the errors of [`restore_flow`] when the weights or buffers
/// do not fit the rebuilt flow.
pub fn load_model(path: impl AsRef<Path>) -> Result<(Flow, ModelSpec), CheckpointError> {
    let ck = Checkpoint::load(path)?;
    let spec: ModelSpec = ck.config(KEY)?;
    let invalid = |message: String| CheckpointError::Metadata {
        key: KEY.into(),
        message,
    };
    spec.base.validate().map_err(invalid)?;
    if spec.dim() < 2 {
        return Err(invalid(format!("dim {} < 2", spec.dim())));
    }
    let flow = spec.build();
    restore_flow(&ck, &flow)?;
    Ok((flow, spec))
}
