//! flow-coupling headline fits: RealNVP and NSF trained by maximum likelihood on toy 2-D
//! densities (test NLL against the exact entropy), and reverse-KL training on the 2-D double
//! well and Müller–Brown (reverse ESS). Density plots of every fitted model.
//!
//! The gap `NLL − H` is estimated on one test set as `mean(log p(x) − log q(x))` (a Monte
//! Carlo KL(p‖q)), which has far less variance than two separate averages.

mod common;
pub mod reverse_kl;
pub mod toy_fits;

pub use common::{CouplingModel, ModelSize};
pub use reverse_kl::{CouplingReverseKl, EnergyTarget, ReverseKlPreset};
pub use toy_fits::{CouplingToyFits, ToyFit, ToyFitPreset, one_cycle};
