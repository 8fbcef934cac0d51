//! [`BaseConfig`]: the base distribution of a flow, as part of the flow's typed config.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::DiagonalNormal;
use super::{Density, GaussianMixture, StandardNormal, StudentT, UniformBox};
use crate::dtype::DType;
use crate::nn::Module;
use crate::tensor::Tensor;

/// A base distribution a model can own: a [`Density`] whose parameters (if any) train with
/// the model's.
pub trait Base: Density + Module {}

impl<T: Density + Module> Base for T {}

/// Which base distribution a flow uses (serialised into its config and checkpoints).
///
/// ```
/// use flow_core::{DType, distributions::BaseConfig};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let cfg: BaseConfig = serde_json::from_str(r#"{"kind":"student-t","df":5.0}"#).unwrap();
/// let base = cfg.build(2, DType::F64, &mut rng);
/// assert_eq!(base.event_dim(), 2);
/// assert_eq!(base.parameters().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BaseConfig {
    /// `N(0, I)`, no parameters (the default).
    #[default]
    StandardNormal,
    /// `N(μ, diag σ²)`, learnable, starting at `N(0, I)`.
    DiagonalNormal,
    /// Independent Student-t coordinates with `df` degrees of freedom, learnable location
    /// and scale.
    StudentT {
        /// Degrees of freedom ν > 0.
        df: f64,
    },
    /// A diagonal Gaussian mixture with learnable weights, means and scales.
    GaussianMixture {
        /// Number of components K ≥ 1.
        components: usize,
    },
    /// The uniform distribution on `[low, high]^D` (fixed).
    UniformBox {
        /// Lower bound of every coordinate.
        low: f64,
        /// Upper bound of every coordinate.
        high: f64,
    },
}

impl BaseConfig {
    /// Checks values that come from outside (a config file, a checkpoint).
    ///
    /// # Errors
    /// A message naming the field and the allowed range.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            BaseConfig::StudentT { df } if !(df > 0.0 && df.is_finite()) => Err(format!(
                "student-t df = {df}: must be a positive finite number"
            )),
            BaseConfig::GaussianMixture { components: 0 } => {
                Err("gaussian-mixture components = 0: must be at least 1".into())
            }
            BaseConfig::UniformBox { low, high } if !(low < high && (high - low).is_finite()) => {
                Err(format!(
                    "uniform-box [{low}, {high}]: need finite low < high"
                ))
            }
            _ => Ok(()),
        }
    }

    /// Builds the base in `dim` dimensions (`rng` initialises mixture means).
    ///
    /// # Panics
    /// If [`BaseConfig::validate`] fails (validate configs from outside first).
    pub fn build<R: Rng + ?Sized>(&self, dim: usize, dtype: DType, rng: &mut R) -> Box<dyn Base> {
        if let Err(e) = self.validate() {
            panic!("BaseConfig::build: {e}");
        }
        match *self {
            BaseConfig::StandardNormal => Box::new(StandardNormal::new(dim).with_dtype(dtype)),
            BaseConfig::DiagonalNormal => Box::new(DiagonalNormal::new(
                Tensor::zeros(&[dim], dtype),
                Tensor::zeros(&[dim], dtype),
            )),
            BaseConfig::StudentT { df } => Box::new(StudentT::new(dim, df, dtype)),
            BaseConfig::GaussianMixture { components } => {
                Box::new(GaussianMixture::new(components, dim, dtype, rng))
            }
            BaseConfig::UniformBox { low, high } => {
                Box::new(UniformBox::new(&vec![low; dim], &vec![high; dim], dtype))
            }
        }
    }
}
