//! Self-describing TRADE model files: [`save_model`] stores a [`ParamFlow`]'s weights with the
//! [`ModelSpec`] that built it (and the trained interval, so evaluation outside it can be
//! flagged), [`load_model`] rebuilds the model from the file alone.

use std::path::Path;

use flow_core::DType;
use flow_core::io::CheckpointError;
use flow_core::nn::Module;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::flow::{ParamFlow, ParamFlowConfig};

/// Everything that defines a trained TRADE flow: architecture, dtype, initial seed, and the
/// parameter interval it was trained on.
///
/// ```
/// use flow_core::{DType, Tensor};
/// use flow_trade::spec::{ModelSpec, load_model, save_model};
/// use flow_trade::ParamFlowConfig;
/// let spec = ModelSpec {
///     flow: ParamFlowConfig::affine(2, 2, &[8]),
///     dtype: DType::F64,
///     seed: 3,
///     c0: 1.0,
///     c_range: (0.5, 2.0),
/// };
/// let model = spec.build();
/// let path = std::env::temp_dir().join(format!("trade-spec-doc-{}.safetensors", std::process::id()));
/// save_model(&model, &spec, &path).unwrap();
/// let (loaded, back) = load_model(&path).unwrap();
/// let x = Tensor::from_vec(vec![0.3f64, -1.0], &[1, 2]);
/// let c = Tensor::from_vec(vec![0.7f64], &[1]);
/// assert_eq!(loaded.log_prob(&x, &c).item(), model.log_prob(&x, &c).item());
/// assert!(back.flags_extrapolation(3.0) && !back.flags_extrapolation(1.5));
/// # std::fs::remove_file(&path).ok();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The flow's architecture.
    pub flow: ParamFlowConfig,
    /// The dtype of the parameters.
    pub dtype: DType,
    /// Seed of the initialisation.
    pub seed: u64,
    /// The boundary parameter `c₀`.
    pub c0: f64,
    /// The trained interval `[c_min, c_max]`.
    pub c_range: (f64, f64),
}

impl ModelSpec {
    /// Builds the model at its initialisation.
    ///
    /// # Panics
    /// As [`ParamFlowConfig::build`].
    pub fn build(&self) -> ParamFlow {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        self.flow.build(self.dtype, &mut rng)
    }

    /// Whether a result at `c` is an extrapolation (outside the trained interval): allowed,
    /// but to be flagged.
    pub fn flags_extrapolation(&self, c: f64) -> bool {
        !(c >= self.c_range.0 && c <= self.c_range.1)
    }
}

/// Metadata key of the spec.
const KEY: &str = "trade.model";

/// Saves the model's weights with the spec that built it, atomically.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_model(
    model: &ParamFlow,
    spec: &ModelSpec,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    flow_core::io::save_model_file(&model.parameters(), KEY, spec, path)
}

/// Rebuilds the model a [`save_model`] file describes and loads its weights.
///
/// # Errors
/// [`CheckpointError::Metadata`] when the spec is missing or unparsable; tensor errors when
/// the weights do not fit the rebuilt model.
pub fn load_model(path: impl AsRef<Path>) -> Result<(ParamFlow, ModelSpec), CheckpointError> {
    flow_core::io::load_model_file(
        path,
        KEY,
        |s: &ModelSpec| Ok(s.build()),
        |m: &ParamFlow| m.parameters(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file without a spec is a typed error, not a panic.
    #[test]
    fn missing_spec_is_a_typed_error() {
        let path = std::env::temp_dir().join(format!("trade-spec-none-{}.st", std::process::id()));
        flow_core::io::Checkpoint::new().save(&path).unwrap();
        assert!(load_model(&path).is_err());
        std::fs::remove_file(&path).ok();
    }
}
