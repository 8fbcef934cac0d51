//! Free-form flows (FFF, Draxler et al., AISTATS 2024, arXiv 2310.16624), the experiments of
//! the free-form-flows page, trained with `flow-freeform`: the gradient estimator on linear
//! flows, 2-D toys, E(3)-FFF on DW4 and LJ13 and SBI with C2ST. The injective-flows page
//! (FIF) lives in `experiments::injective` and shares the helpers here.

pub mod boltzmann;
pub(crate) mod common;
pub mod linear_hutchinson;
pub mod sbi;
pub mod toys;
pub(crate) mod training;

pub use boltzmann::EgnnBoltzmann;
pub use common::NetPreset;
pub use linear_hutchinson::LinearHutchinson;
pub use sbi::SbiC2st;
pub use toys::FffToys;
