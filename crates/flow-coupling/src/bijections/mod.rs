//! The bijections, one per file. Each states its formula, its log-determinant and its paper.

mod actnorm;
mod additive_coupling;
mod affine_coupling;
mod coupling;
mod lu_linear;
mod permutation;
mod rotation;
mod rq_kernel;
pub mod rq_spline;
mod scale;
mod spline_coupling;

pub use actnorm::ActNorm;
pub use additive_coupling::{Additive, AdditiveCoupling, VolumePreserving};
pub use affine_coupling::{Affine, AffineCoupling, SoftClamp};
pub use coupling::{ActiveHalf, Coupling, CouplingTransform};
pub use lu_linear::LuLinear;
pub use permutation::Permutation;
pub use rotation::{FixedRotation, HouseholderRotation};
pub use scale::GlobalScale;
pub use spline_coupling::{RationalQuadratic, SplineConfig, SplineCoupling};
