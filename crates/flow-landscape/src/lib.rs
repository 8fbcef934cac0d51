//! # flow-landscape
//!
//! Tools of "Essentially No Barriers in Neural Network Energy Landscape" (Draxler, Veschgini,
//! Salmhofer, Hamprecht, ICML 2018, arXiv 1803.00885): low-loss paths between independently
//! trained minima by AutoNEB, and the flat directions of the Hessian at a minimum.
//!
//! - [`FlatLayout`]: any flow-core [`Module`](flow_core::nn::Module)'s parameters as one flat
//!   vector (view in, gradient out), with a typed error naming the parameter where two
//!   endpoints' layouts differ.
//! - [`Landscape`]: a loss in flat coordinates with gradient and Hessian-vector product;
//!   [`ModuleLandscape`] (any module plus a loss closure, exact reverse-over-reverse HVP),
//!   [`MinibatchLandscape`] (one minibatch per pivot and step, as the official code),
//!   [`CurvyValley`] and [`Eggcarton`] (analytic, known saddles 1 and 0).
//! - [`neb`]: the path, the improved tangent, force projection, springs and arc-length
//!   re-spacing, [`autoneb`] cycles with `highest` insertion, dense profiles, saddle, barrier.
//! - [`hessian`]: dense Hessians, Lanczos (single-vector and block) with full
//!   re-orthogonalisation, the ReLU-rescaling and softmax-shift symmetry directions, near-zero
//!   counts beyond them.
//! - [`lazy_mst`]: the minimum spanning tree over many minima, computing only needed paths.
//! - [`classifier`]: the digits MLP classifier objective used by the experiments.
//!
//! ```
//! use flow_landscape::{autoneb, AutoNebConfig, DenseProfile, Eggcarton, Landscape, Path};
//! let [a, b] = Eggcarton.minima();
//! let linear = DenseProfile::evaluate(&Path::linear(a.to_vec(), b.to_vec()), 9, |t| Eggcarton.loss(t));
//! assert!((linear.saddle() - 2.0).abs() < 1e-12); // the straight path crosses the maximum
//! let mut cfg = AutoNebConfig::standard(3, 3, 200, 1e-3);
//! cfg.init_noise = 1e-2;
//! let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(0);
//! let out = autoneb(&Eggcarton, Path::linear(a.to_vec(), b.to_vec()), &cfg, &mut rng).unwrap();
//! assert!(out.saddle() < 0.2);
//! ```

pub mod classifier;
mod error;
mod flat;
pub mod hessian;
mod mst;
pub mod neb;
mod objective;
mod surfaces;

pub use error::LandscapeError;
pub use flat::{FlatLayout, endpoints};
pub use hessian::lanczos;
pub use mst::{Edge, Mst, lazy_mst};
pub use neb::{
    AutoNebConfig, AutoNebResult, CycleConfig, DenseProfile, Insertion, Path, TangentForm, autoneb,
    improved_tangent,
};
pub use objective::{Landscape, MinibatchLandscape, ModuleLandscape, dot, fd_hvp, norm};
pub use surfaces::{CurvyValley, Eggcarton};
