//! Whitening by coupling flows (Draxler, Schnörr, Köthe, NeurIPS 2022, arXiv 2210.14032).
//!
//! The KL of a latent to `N(0, I)` splits exactly into a non-Gaussianity `G` and a
//! non-standardness `S` ([`non_standardness`]); every coupling family contains the affine
//! coupling with linear `t` and constant `s`, whose optimum on a covariance
//! ([`optimal_linear_block`]) never increases `S` and, over Haar rotations, contracts it at
//! least by the bounds of [`bounds`]. [`depth`] iterates blocks and fits the per-block rate.

pub mod block;
pub mod bounds;
pub mod depth;
pub mod nonstandardness;
pub mod spectra;

pub use block::{block_closed_form, optimal_linear_block};
pub use bounds::{loss_only_bound, rho_a, var_max_bound};
pub use depth::{DepthRun, fit_rate, whiten_depth, whiten_depth_runs};
pub use nonstandardness::{
    gaussian_entropy, non_standardness, non_standardness_centered, non_standardness_cov,
    non_standardness_eigen,
};
pub use spectra::SpectrumFamily;
