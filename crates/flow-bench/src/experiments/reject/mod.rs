//! Finding Competence Regions in Domain Generalization (arXiv 2303.09989; crate
//! `flow-reject`) on rotated 8×8 digits: the closed-world score comparison, DG against ERM
//! inside the competence region, and the open world.

mod common;
pub mod dg;
pub mod open_world;
pub mod rotated;
mod rotated_plots;
#[cfg(test)]
mod rotated_tests;

pub use dg::RejectDgVsErm;
pub use open_world::RejectOpenWorld;
pub use rotated::RejectRotatedDigits;
