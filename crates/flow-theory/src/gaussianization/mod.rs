//! Gaussianization with random rotations (Draxler, Kühmichel, Rousselot, Köthe, ICML 2023,
//! arXiv 2306.13520).
//!
//! A layer is a rotation followed by a marginal Gaussianisation `zᵢ ← Φ⁻¹(Fᵢ(zᵢ))`, fitted
//! layer-wise without backpropagation. On Gaussian input a layer acts on the covariance as
//! `Σ ← N(QΣQᵀ)` ([`covariance`]); on data it is [`IterativeGaussianization`].

pub mod covariance;
pub mod iterative;
pub mod marginal;
pub mod normal;

pub use covariance::{
    gaussianization_layer, layers_to_reduce, near_identity_covariance, predicted_contraction,
    sphere_quadratic_variance,
};
pub use iterative::{IterativeGaussianization, RotationKind};
pub use marginal::MarginalGaussianizer;
pub use normal::{normal_cdf, normal_quantile};
