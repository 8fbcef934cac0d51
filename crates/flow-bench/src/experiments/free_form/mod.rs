//! Free-form flows (FFF, Draxler et al., AISTATS 2024, arXiv 2310.16624) and free-form
//! injective flows (FIF, arXiv 2306.01843) trained with `flow-freeform`: the gradient estimator
//! on linear flows, 2-D toys, E(3)-FFF on DW4 and LJ13, SBI with C2ST, the sine manifold and
//! 8×8 digits, and the cost of an FFF step against a plain autoencoder step.

pub mod boltzmann;
mod common;
pub mod fif_naive;
pub mod injective;
pub mod linear_hutchinson;
pub mod sbi;
pub mod step_time;
pub mod toys;
mod training;

pub use boltzmann::EgnnBoltzmann;
pub use common::NetPreset;
pub use fif_naive::FifNaiveVsStable;
pub use injective::FifManifolds;
pub use linear_hutchinson::LinearHutchinson;
pub use sbi::SbiC2st;
pub use step_time::FffStepTime;
pub use toys::FffToys;
