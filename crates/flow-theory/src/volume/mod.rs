//! Volume-preserving flows are not universal; well-conditioned affine couplings are
//! distributionally universal (Draxler, Wahl, Schnörr, Köthe, ICML 2024, arXiv 2402.06578).
//!
//! - [`rearrangement`]: the KL floor of every constant-Jacobian flow via the symmetric
//!   decreasing rearrangement (closed form on the cube, quadrature in 2-D);
//! - [`conditional`]: a 2-D Gaussian mixture with closed-form conditional moments, and the
//!   per-block gain `ΔL` of the universality construction;
//! - [`iterative`]: the construction itself on samples (rotate, normalise the active
//!   coordinate per passive bin);
//! - [`flows`]: volume-preserving, affine and spline coupling flows built from flow-coupling,
//!   with a plain maximum-likelihood loop.

pub mod conditional;
pub mod flows;
pub mod iterative;
pub mod rearrangement;

pub use conditional::{Gmm2, block_gain};
pub use flow_coupling::Flow;
pub use flows::{FlowKind, build_flow, latent, linear_layer_matrix, mean_nll, train_nll};
pub use iterative::{BinnedCouplingBlock, IterativeCoupling, nll_2d};
pub use rearrangement::{
    RearrangementStats, rearrangement_grid_2d, uniform_cube_kl_floor, unit_ball_volume,
};
