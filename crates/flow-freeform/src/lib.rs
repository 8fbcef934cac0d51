//! # flow-freeform
//!
//! Free-form flows: any dimension-preserving encoder/decoder pair trained as a normalizing
//! flow (FFF, Draxler et al., AISTATS 2024, arXiv:2310.16624), and dimension-reducing pairs
//! trained by maximum likelihood on a learned manifold (free-form injective flows / MLAE,
//! Sorrenson et al., ICLR 2024, arXiv:2306.01843).
//!
//! - [`hutchinson`]: Haar-random (QR) and sphere Hutchinson vectors scaled by `√dim`;
//! - [`surrogate`]: the volume-change surrogate `vᵀ J_f(x) · sg(J_g(z) v)` and the FFF loss
//!   `−log p_Z(f(x)) − S + β‖x − g(f(x))‖²` with optional extra reconstruction terms;
//! - [`injective`]: the FIF/MLAE variant (v in the latent space, encoder Jacobian at the data
//!   point) and the rectangular volume `½ log det(J_gᵀ J_g)`;
//! - [`exact`]: exact log-likelihoods from dense, chunked decoder (or encoder) Jacobians,
//!   reported with the reconstruction error;
//! - [`net`]: residual MLPs in the papers' encoder/decoder layout, [`egnn`]: the E(n)-equivariant
//!   graph network of E(3)-FFF with a mean-free latent ([`latent`]);
//! - [`model`]: the encoder/decoder pair, one-pass sampling `x = g(z)` without a tape;
//! - [`train`]: a training loop that skips non-finite steps, restores the last good
//!   parameters and writes atomic checkpoints.
//!
//! Direction (as everywhere in the workspace): the encoder `f` maps data to latent (the density
//! direction), `log p(x) = log p_Z(f(x)) + log|det J_f(x)|`; the decoder `g ≈ f⁻¹` samples.
//! The *value* of the surrogate is not a log-determinant: judge a model by [`exact`].
//!
//! Not here: bijective layers with analytic inverses (`flow-coupling`), data and energies
//! (`flow-data`), experiment presets and plots (`flow-bench`).
//!
//! ```
//! use flow_core::DType;
//! use flow_freeform::{FreeFormFlow, Latent, ResNetConfig, FffLossConfig, fff_loss};
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
//! let cfg = ResNetConfig::new(2, 2, &[32], 1);
//! let model = FreeFormFlow::new(
//!     Box::new(cfg.build_encoder("enc", DType::F64, &mut rng)),
//!     Box::new(cfg.build_decoder("dec", DType::F64, &mut rng)),
//!     Latent::standard_normal(2),
//! );
//! let x = flow_core::Tensor::randn(&[16, 2], DType::F64, &mut rng);
//! let terms = fff_loss(&model, &x, None, &FffLossConfig::new(100.0), &mut rng);
//! assert!(terms.loss.item().is_finite());
//! assert_eq!(model.sample(5, None, &mut rng).shape(), &[5, 2]);
//! ```

pub mod egnn;
pub mod exact;
pub mod exact_parallel;
pub mod hutchinson;
pub mod injective;
pub mod latent;
pub mod model;
pub mod net;
pub mod prelude;
pub mod sharded;
pub mod spec;
pub mod surrogate;
pub mod train;

pub use egnn::{Egnn, EgnnConfig};
pub use exact::{ExactEval, JacobianSide, exact_log_prob, log_volume};
pub use exact_parallel::SharedModel;
pub use hutchinson::{HutchinsonSampler, sample_v};
pub use injective::{decoder_log_volume, fif_loss, rectangular_log_volume};
pub use latent::Latent;
pub use model::{FreeFormFlow, Network};
pub use net::{ResNet, ResNetConfig};
pub use spec::{ModelSpec, NetConfig, load_model, save_model};
pub use surrogate::{
    Differentiation, ExtraTerms, FffLossConfig, LossTerms, SurrogateOutput, VolumeTerm,
    autoencoder_loss, fff_loss, volume_change_surrogate,
};
pub use train::{TrainConfig, TrainError, TrainReport, Trainer};
