//! Hessian tools: dense Hessians of small models, Lanczos, the trivial symmetry directions,
//! and near-zero eigenvalue counts beyond them. HVPs come from [`Landscape::hvp`](crate::Landscape::hvp).

mod block;
mod count;
mod dense;
mod lanczos;
mod symmetry;

pub use block::block_lanczos;
pub use count::{FlatCount, count_flat, curvature_along, project_hessian};
pub use dense::{dense_hessian, symmetric_eigen, symmetric_eigenvalues};
pub use lanczos::{Ritz, lanczos, lanczos_smallest};
pub use symmetry::{Symmetries, orthonormal_basis, project_complement};
