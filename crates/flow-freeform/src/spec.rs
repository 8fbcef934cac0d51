//! Self-describing free-form flow checkpoints: [`save_model`] stores the weights with the
//! [`ModelSpec`] that built them, [`load_model`] rebuilds the model from the file alone; and
//! the [`Density`] interface of a free-form flow.

use std::path::Path;

use flow_core::distributions::Density;
use flow_core::io::CheckpointError;
use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::egnn::EgnnConfig;
use crate::exact::{JacobianSide, exact_log_prob};
use crate::latent::Latent;
use crate::model::FreeFormFlow;
use crate::net::ResNetConfig;

/// The encoder/decoder architecture of a free-form flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum NetConfig {
    /// A residual MLP pair (`enc`, `dec` parameter prefixes).
    ResNet(ResNetConfig),
    /// An E(n)-equivariant GNN pair (`encoder`, `decoder` prefixes).
    Egnn(EgnnConfig),
}

/// Everything that defines a free-form flow: networks, latent, dtype and initial seed.
///
/// ```
/// use flow_freeform::{Latent, ModelSpec, NetConfig, ResNetConfig, load_model, save_model};
/// use flow_core::{DType, Tensor, distributions::Density};
/// let spec = ModelSpec {
///     net: NetConfig::ResNet(ResNetConfig::new(2, 2, &[16], 1)),
///     latent: Latent::standard_normal(2),
///     dtype: DType::F64,
///     seed: 5,
/// };
/// let model = spec.build();
/// let path = std::env::temp_dir().join(format!("fff-spec-doc-{}.safetensors", std::process::id()));
/// save_model(&model, &spec, &path).unwrap();
/// let (loaded, _) = load_model(&path).unwrap(); // the path alone
/// let x = Tensor::from_slice(&[0.3f64, -1.0], &[1, 2]);
/// assert_eq!(loaded.log_prob(&x, None).item(), model.log_prob(&x, None).item());
/// # std::fs::remove_file(&path).ok();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The networks.
    pub net: NetConfig,
    /// The latent distribution.
    pub latent: Latent,
    /// The dtype of the parameters.
    pub dtype: DType,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl ModelSpec {
    /// Builds the model at its initialisation.
    ///
    /// # Panics
    /// If the config is invalid (see the configs' `build`).
    pub fn build(&self) -> FreeFormFlow {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let (dtype, r) = (self.dtype, &mut rng);
        match &self.net {
            NetConfig::ResNet(c) => FreeFormFlow::new(
                Box::new(c.build_encoder("enc", dtype, r)),
                Box::new(c.build_decoder("dec", dtype, r)),
                self.latent,
            ),
            NetConfig::Egnn(c) => FreeFormFlow::new(
                Box::new(c.build("encoder", dtype, r)),
                Box::new(c.build("decoder", dtype, r)),
                self.latent,
            ),
        }
    }
}

/// Metadata key of the spec.
const KEY: &str = "model";

/// Saves the model's weights with the spec that built it, atomically.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_model(
    model: &FreeFormFlow,
    spec: &ModelSpec,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    flow_core::io::save_model_file(&model.parameters(), KEY, spec, path)
}

/// Rebuilds the model a [`save_model`] file describes and loads its weights.
///
/// # Errors
/// [`CheckpointError::Metadata`] naming the field when the spec is missing, of another format
/// version or unparsable; tensor errors when the weights do not fit the rebuilt model.
pub fn load_model(path: impl AsRef<Path>) -> Result<(FreeFormFlow, ModelSpec), CheckpointError> {
    flow_core::io::load_model_file(
        path,
        KEY,
        |s: &ModelSpec| Ok(s.build()),
        |m: &FreeFormFlow| m.parameters(),
    )
}

/// Rows per chunk of the exact log-density.
const CHUNK: usize = 256;

/// A free-form flow as a density: `log_prob` is the exact change of variables through the
/// decoder Jacobian (FFF arXiv:2310.16624, §4.1), computed in chunks without recording a
/// tape (so it is for evaluation, not a training loss); samples are one decoder pass.
impl Density for FreeFormFlow {
    fn event_dim(&self) -> usize {
        self.data_dim()
    }
    fn log_prob(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        exact_log_prob(self, x, condition, JacobianSide::Decoder, CHUNK).log_prob
    }
    fn rsample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        let z = self.latent.sample(n, self.dtype(), rng);
        self.decode(&z, condition)
    }
}
