//! Define-by-run automatic differentiation: reverse mode (nestable via `create_graph`) and
//! forward mode (dual tensors whose tangents are recorded, so they can be differentiated).
//!
//! Rules of the road:
//! - Gradients flow to *tracked* tensors ([`Tensor::requires_grad`](crate::Tensor::requires_grad)).
//! - Backward passes never propagate tangents: reverse-over-forward (a JVP inside a reverse
//!   pass) is supported; forward-over-reverse is not needed (HVPs use reverse-over-reverse).
//! - [`Tensor::detach`](crate::Tensor::detach) stops both cotangent and tangent flow.

pub mod forward;
pub mod functional;
pub(crate) mod graph;
pub mod reverse;

pub use forward::{jvp, make_dual};
pub use functional::{hvp, jacobian, jacobian_reverse};
pub use graph::{GradModeGuard, is_grad_enabled, no_grad};
pub use reverse::{Gradients, grad, grad_with_graph, vjp, vjp_with_graph};
