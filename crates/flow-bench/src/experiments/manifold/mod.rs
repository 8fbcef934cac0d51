//! Learning Distributions on Manifolds with Free-form Flows (M-FFF, arXiv 2312.09852):
//! a vMF mixture on S² with known entropy (with the one-step vs flow-matching speed claim)
//! and the Earth event sets (flow-manifold).

mod common;
pub mod earth;
mod speed;
pub mod vmf;

pub use earth::MfffEarth;
pub use vmf::MfffVmfSphere;
