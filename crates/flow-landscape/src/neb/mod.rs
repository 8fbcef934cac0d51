//! Nudged elastic bands and AutoNEB (arXiv 1803.00885 §3).

mod autoneb;
mod dense;
mod force;
mod path;

pub use autoneb::{
    AutoNebConfig, AutoNebResult, CycleConfig, CycleRecord, Insertion, autoneb, neb_gradients,
};
pub use dense::{DenseProfile, insert_highest};
pub use force::{TangentForm, improved_tangent, neb_gradient, project_out};
pub use path::{Path, distance, lerp};
