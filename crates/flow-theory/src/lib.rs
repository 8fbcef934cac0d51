//! # flow-theory
//!
//! Numerical verification of four theoretical results on normalizing flows and neural
//! networks, as library code that property tests (in `tests/`) and the `reproduce`
//! experiments (in `flow-bench`) call:
//!
//! - [`whitening`]: coupling flows whiten — the loss split `KL = G + S`, the optimal linear
//!   coupling block on a covariance, Haar-expectation bounds and the geometric rate
//!   `ρ_A = 1 − 2 d_a d_p/((D−1)(D+2))` (arXiv 2210.14032);
//! - [`gaussianization`]: iterative Gaussianization with random or PCA rotations and its
//!   per-layer contraction `1 − 2/(D+2)` on Gaussian input (arXiv 2306.13520);
//! - [`volume`]: constant-Jacobian (volume-preserving) flows only shift `log p`, the
//!   rearrangement floor of their KL (`1 − ln 2` on the unit square), and the iterative
//!   coupling construction of the universality proof (arXiv 2402.06578);
//! - [`spectral`]: exact Fourier coefficients of 1-D ReLU networks and spectral-bias training
//!   experiments (arXiv 1806.08734).
//!
//! Covariance-level computations use `nalgebra` in f64; training uses flow-core and
//! flow-coupling. Not here: experiment presets, plots and reports (`flow-bench`).

pub mod gaussianization;
pub mod linalg;
pub mod spectral;
pub mod stats;
pub mod volume;
pub mod whitening;

/// The linear-algebra crate of the covariance-level APIs, re-exported so callers name the
/// same `DMatrix` type.
pub use nalgebra;
