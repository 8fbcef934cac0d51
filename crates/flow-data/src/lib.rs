//! # flow-data
//!
//! Everything a model of the `flows` workspace is trained on or judged by, written once:
//!
//! - [`toy`]: 2-D samplers with exact densities (moons, circles, GMM-8, checkerboard, pinwheel,
//!   spirals, the sine manifold);
//! - [`digits`]: the UCI 8×8 digits (vendored), splits, dequantisation, standardisation and
//!   rotated-digit domain shifts;
//! - [`energy`]: analytic energies `E(x, c)` with their derivative in the external parameter
//!   `c`, differentiable through flow-core (DW4, LJ13/LJ55, multi-well, double well,
//!   Müller–Brown, many-well, tempered GMM-6, φ⁴, the tempered two-moons posterior);
//! - [`mcmc`]: MALA/HMC reference samplers with many parallel chains and convergence
//!   diagnostics;
//! - [`metrics`]: ESS, KL, log Z and free energies, Wasserstein distances, C2ST;
//! - [`sbi`]: simulation-based-inference tasks with reference posteriors.
//!
//! Not here: models, bijections and training loops (`flow-coupling` and above), experiment
//! presets and plots (`flow-bench`).
//!
//! Conventions: energies are in kT, `p(x | c) ∝ exp(−E(x, c))`; tensors are batch-first;
//! every random function takes an RNG.

pub mod digits;
pub mod energy;
pub mod error;
pub mod mcmc;
pub mod metrics;
pub mod prelude;
pub mod sbi;
pub mod toy;

pub use error::DataError;
