//! # flow-manifold
//!
//! Manifold free-form flows (M-FFF; Sorrenson, Draxler, Rousselot, Hummerich, Köthe,
//! NeurIPS 2024, arXiv:2312.09852): free-form flows whose networks act in the embedding
//! space `R^m` and are followed by a projection onto the manifold, `f = π ∘ f̃`,
//! `g = π ∘ g̃`, trained with a tangent-space free-form surrogate and sampled in one step.
//!
//! - [`manifold`]: the [`Manifold`] trait (projection and tangent projection recorded on the
//!   tape, tangent bases, uniform sampling, exp/log, geodesic distance, metric log-det) with
//!   [`Sphere`] `S^n`, flat [`Torus`] `T^k`, [`SpecialOrthogonal`] SO(3) and the
//!   [`PoincareBall`] chart with its metric term;
//! - [`base`]: base densities ([`Uniform`], the learnable [`VmfMixture`] with its exact
//!   normaliser from [`bessel`], the [`WrappedNormal`] on the Poincaré ball);
//! - [`tangent`]: tangent Hutchinson vectors with the `√n` (unbiased) or `√m` (official) scale;
//! - [`model`]: the [`ManifoldFlow`] and its one-step sampler;
//! - [`loss`]: the M-FFF loss with the βR, βU, βP regularisers;
//! - [`exact`]: exact densities w.r.t. the Riemannian volume, `log|det(Rᵀ J Q)|`, chunked;
//! - [`density`]: the workspace's `Density` trait for the model and the bases;
//! - [`data`]: the vendored Earth and RNA data with typed errors naming the bad row;
//! - [`numpy_split`]: the official code's numpy split (`default_rng(1241735).permutation`).
//!
//! - [`rfm`]: the multi-step baseline, Riemannian flow matching (geodesic paths, tangent
//!   vector field, geodesic Euler and adaptive Heun samplers, exact likelihood).
//!
//! - [`spec`]: self-describing checkpoints of trained models ([`save_model`], [`load_model`]).
//!
//! - [`synthetic`]: the SO(3) mixture data of the paper (with its exact density) and wrapped
//!   normal mixtures on tori.
//!
//! Experiments live in `flow-bench`.
//!
//! ```
//! use flow_core::DType;
//! use flow_freeform::ResNetConfig;
//! use flow_manifold::{Manifold, ManifoldFlow, MfffLossConfig, Sphere, Uniform, mfff_loss};
//! use rand::SeedableRng;
//! use std::rc::Rc;
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
//! let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
//! let net = ResNetConfig::new(3, 3, &[16], 1);
//! let flow = ManifoldFlow::new(
//!     s2.clone(),
//!     Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
//!     Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
//!     Box::new(Uniform::new(s2.clone())),
//! );
//! let x = s2.sample_uniform(8, DType::F64, &mut rng);
//! let terms = mfff_loss(&flow, &x, &MfffLossConfig::new(10.0).with_beta_p(1.0), &mut rng);
//! assert!(terms.loss.item().is_finite());
//! ```

pub mod base;
pub mod bessel;
pub mod data;
pub mod density;
pub mod exact;
pub mod exact_parallel;
pub mod loss;
pub mod manifold;
pub mod model;
pub mod numpy_split;
pub mod rfm;
pub mod spec;
pub mod synthetic;
pub mod tangent;
pub mod train;
pub mod trained;
pub mod wrapped;

pub use base::{ManifoldDensity, Uniform, VmfMixture, sample_vmf};
pub use data::{DataError, EarthSet, load_earth, load_rna, split_80_10_10};
pub use exact::{ManifoldExact, Side, exact_log_prob, manifold_log_det};
pub use exact_parallel::SharedFlow;
pub use loss::{
    LossWeights, MfffLossConfig, MfffTerms, SurrogateParts, mfff_loss, tangent_surrogate,
};
pub use manifold::{
    DetFix, Manifold, PoincareBall, SpecialOrthogonal, Sphere, Torus, rotation_angles,
};
pub use model::ManifoldFlow;
pub use numpy_split::{OFFICIAL_SPLIT_SEED, Pcg64, SeedSequence, split_official};
pub use rfm::{
    Divergence, VectorField, rfm_log_prob, rfm_log_prob_with, rfm_loss, sample_adaptive,
    sample_euler, train_rfm,
};
pub use spec::{BaseSpec, ManifoldSpec, ModelSpec, load_model, save_model};
pub use synthetic::{So3Mixture, WrappedMixture};
pub use tangent::{TangentScale, tangent_hutchinson};
pub use train::{mfff_step_loss, train_mfff};
pub use trained::{TrainedCheckpoint, load_trained};
pub use wrapped::WrappedNormal;
