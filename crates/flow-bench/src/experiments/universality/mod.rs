//! Universality of coupling flows and the volume-preserving limits (arXiv 2402.06578), the
//! experiments of the universality page: RealNVP and NSF fits of 2-D toys against their exact
//! entropy, and volume-preserving flows against the rearrangement floor with the iterative
//! universality construction.
//!
//! The toy-fit gap `NLL − H` is estimated on one test set as `mean(log p(x) − log q(x))` (a
//! Monte Carlo KL(p‖q)), which has far less variance than two separate averages.

pub mod toy_fits;
pub mod volume;

pub use toy_fits::{CouplingToyFits, ToyFit, ToyFitPreset, one_cycle};
pub use volume::VolumePreservingFloor;
