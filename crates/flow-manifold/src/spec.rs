//! Self-describing M-FFF checkpoints: [`save_model`] stores a trained [`ManifoldFlow`]'s
//! weights (networks and a learnable base) with the [`ModelSpec`] that builds it;
//! [`load_model`] rebuilds the model from the file alone (as `flow_freeform::load_model`).

use std::path::Path;
use std::rc::Rc;

use flow_core::DType;
use flow_core::io::CheckpointError;
use flow_core::nn::Module;
use flow_freeform::ResNetConfig;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::base::{ManifoldDensity, Uniform, VmfMixture};
use crate::manifold::{DetFix, Manifold, PoincareBall, SpecialOrthogonal, Sphere, Torus};
use crate::model::ManifoldFlow;
use crate::wrapped::WrappedNormal;

/// The manifold of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ManifoldSpec {
    /// `S^n ⊂ R^{n+1}`.
    Sphere {
        /// Intrinsic dimension.
        n: usize,
    },
    /// `T^k = (S¹)^k ⊂ R^{2k}`.
    Torus {
        /// Number of circles.
        k: usize,
    },
    /// SO(3) ⊂ R⁹ with its determinant fix.
    SpecialOrthogonal {
        /// How the projection handles `det < 0`.
        det_fix: DetFix,
    },
    /// The Poincaré ball chart `B^n`.
    PoincareBall {
        /// Dimension.
        n: usize,
    },
}

impl ManifoldSpec {
    /// The manifold.
    pub fn build(&self) -> Rc<dyn Manifold> {
        match *self {
            ManifoldSpec::Sphere { n } => Rc::new(Sphere::new(n)),
            ManifoldSpec::Torus { k } => Rc::new(Torus::new(k)),
            ManifoldSpec::SpecialOrthogonal { det_fix } => Rc::new(SpecialOrthogonal::new(det_fix)),
            ManifoldSpec::PoincareBall { n } => Rc::new(PoincareBall::new(n)),
        }
    }
    fn ambient_dim(&self) -> usize {
        match *self {
            ManifoldSpec::Sphere { n } => n + 1,
            ManifoldSpec::Torus { k } => 2 * k,
            ManifoldSpec::SpecialOrthogonal { .. } => 9,
            ManifoldSpec::PoincareBall { n } => n,
        }
    }
}

/// The base distribution of a model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BaseSpec {
    /// Uniform on a compact manifold.
    Uniform,
    /// Learnable vMF mixture on a sphere (official initialisation, parameters `base.*`).
    VmfMixture {
        /// Number of modes.
        modes: usize,
    },
    /// Wrapped normal at the origin of the Poincaré ball.
    WrappedNormal {
        /// Tangent standard deviation.
        scale: f64,
    },
}

/// Everything that defines an M-FFF model: manifold, encoder/decoder ResNet, base, dtype and
/// the seed of the initialisation.
///
/// ```
/// use flow_core::{DType, distributions::Density};
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{BaseSpec, Manifold, ManifoldSpec, ModelSpec, load_model, save_model};
/// use rand::SeedableRng;
/// let spec = ModelSpec {
///     manifold: ManifoldSpec::Sphere { n: 2 },
///     net: ResNetConfig::new(3, 3, &[8], 1),
///     base: BaseSpec::VmfMixture { modes: 3 },
///     dtype: DType::F64,
///     seed: 4,
/// };
/// let model = spec.build().unwrap();
/// let path = std::env::temp_dir().join(format!("mfff-spec-doc-{}.safetensors", std::process::id()));
/// save_model(&model, &spec, &path).unwrap();
/// let (loaded, _) = load_model(&path).unwrap();
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let x = model.manifold().sample_uniform(4, DType::F64, &mut rng);
/// assert_eq!(loaded.log_prob(&x, None).to_vec_f64(), model.log_prob(&x, None).to_vec_f64());
/// # std::fs::remove_file(&path).ok();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The manifold.
    pub manifold: ManifoldSpec,
    /// Encoder and decoder architecture (parameter prefixes `enc`, `dec`), on `R^m`.
    pub net: ResNetConfig,
    /// The base distribution.
    pub base: BaseSpec,
    /// Parameter dtype.
    pub dtype: DType,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl ModelSpec {
    /// Why the spec cannot build a model, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let m = self.manifold.ambient_dim();
        let c = &self.net;
        if c.data_dim != m || c.latent_dim != m || c.condition_dim != 0 {
            return Err(format!(
                "network {} → {} (condition {}) does not act on R^{m} of {:?}",
                c.data_dim, c.latent_dim, c.condition_dim, self.manifold
            ));
        }
        if c.blocks == 0 || c.hidden.contains(&0) {
            return Err(format!(
                "network needs ≥ 1 block and positive widths, got {} × {:?}",
                c.blocks, c.hidden
            ));
        }
        match (self.base, self.manifold) {
            (BaseSpec::Uniform, ManifoldSpec::PoincareBall { .. }) => {
                Err("no uniform distribution on the Poincaré ball (infinite volume)".into())
            }
            (BaseSpec::VmfMixture { modes }, ManifoldSpec::Sphere { n }) if modes > 0 && n > 0 => {
                Ok(())
            }
            (BaseSpec::VmfMixture { .. }, _) => {
                Err("a vMF mixture needs a sphere of dimension ≥ 1 and ≥ 1 mode".into())
            }
            (BaseSpec::WrappedNormal { scale }, ManifoldSpec::PoincareBall { .. })
                if scale > 0.0 && scale.is_finite() =>
            {
                Ok(())
            }
            (BaseSpec::WrappedNormal { .. }, _) => {
                Err("a wrapped normal needs the Poincaré ball and a positive scale".into())
            }
            (BaseSpec::Uniform, _) => Ok(()),
        }
    }

    /// Builds the model at its initialisation.
    ///
    /// # Errors
    /// The reason of [`ModelSpec::check`].
    pub fn build(&self) -> Result<ManifoldFlow, String> {
        self.build_with(&mut Xoshiro256PlusPlus::seed_from_u64(self.seed))
    }

    /// Builds the model with initial parameters drawn from `rng` instead of the spec's seed
    /// (in the order base, encoder, decoder).
    ///
    /// # Errors
    /// The reason of [`ModelSpec::check`].
    pub fn build_with(&self, rng: &mut dyn rand::Rng) -> Result<ManifoldFlow, String> {
        self.check()?;
        let manifold = self.manifold.build();
        let base: Box<dyn ManifoldDensity> = match (self.base, self.manifold) {
            (BaseSpec::VmfMixture { modes }, ManifoldSpec::Sphere { n }) => {
                Box::new(VmfMixture::init_official("base", n, modes, self.dtype, rng))
            }
            (BaseSpec::WrappedNormal { scale }, ManifoldSpec::PoincareBall { n }) => {
                Box::new(WrappedNormal::new(n, scale))
            }
            _ => Box::new(Uniform::new(manifold.clone())),
        };
        let encoder = self.net.build_encoder("enc", self.dtype, rng);
        let decoder = self.net.build_decoder("dec", self.dtype, rng);
        Ok(ManifoldFlow::new(
            manifold,
            Box::new(encoder),
            Box::new(decoder),
            base,
        ))
    }
}

/// Metadata key of the spec.
const KEY: &str = "mfff-model";

/// Saves the model's parameters (networks and learnable base) with the spec that built it,
/// atomically.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_model(
    model: &ManifoldFlow,
    spec: &ModelSpec,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    flow_core::io::save_model_file(&model.parameters(), KEY, spec, path)
}

/// Rebuilds the model a [`save_model`] file describes and loads its parameters.
///
/// # Errors
/// [`CheckpointError::Metadata`] when the spec is missing, of another format version,
/// unparsable or inconsistent (e.g. a vMF base on a torus); tensor errors
/// ([`CheckpointError::Missing`], [`CheckpointError::ShapeMismatch`], …) when the weights do
/// not fit the rebuilt model; [`CheckpointError::Format`]/[`CheckpointError::Io`] for a
/// corrupt or unreadable file.
pub fn load_model(path: impl AsRef<Path>) -> Result<(ManifoldFlow, ModelSpec), CheckpointError> {
    let build = |s: &ModelSpec| {
        s.build().map_err(|message| CheckpointError::Metadata {
            key: KEY.into(),
            message,
        })
    };
    flow_core::io::load_model_file(path, KEY, build, |m: &ManifoldFlow| m.parameters())
}
