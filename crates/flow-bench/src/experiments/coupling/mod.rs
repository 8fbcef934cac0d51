//! Shared helpers of the flow-coupling experiments (model sizes, chunked training, density
//! grids). The experiments themselves live with their pages: the toy fits in
//! `experiments::universality`, reverse-KL training in `experiments::trade`; their public items
//! are re-exported here for existing callers.

pub(crate) mod common;

pub use super::trade::reverse_kl::{CouplingReverseKl, EnergyTarget, ReverseKlPreset};
pub use super::universality::toy_fits::{CouplingToyFits, ToyFit, ToyFitPreset, one_cycle};
pub use common::{CouplingModel, ModelSize};
