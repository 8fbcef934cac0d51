//! Learning Distributions on Manifolds with Free-form Flows (M-FFF, arXiv 2312.09852):
//! a vMF mixture on S² with known entropy (with the one-step vs flow-matching speed claim)
//! the Earth event sets, SO(3) mixtures, tori and the Poincaré disk (flow-manifold).

mod common;
pub mod earth;
mod earth_set;
#[cfg(test)]
mod earth_tests;
mod parity;
pub mod poincare;
mod poincare_mass;
mod poincare_toys;
mod side;
pub mod so3;
mod speed;
mod sphere_mass;
pub mod torus;
pub mod vmf;

pub use earth::MfffEarth;
pub use poincare::MfffPoincare;
pub use so3::MfffSo3;
pub use torus::MfffTorus;
pub use vmf::MfffVmfSphere;
