//! Define-by-run automatic differentiation: reverse mode (nestable via `create_graph`) and
//! forward mode (dual tensors whose tangents are recorded, so they can be differentiated).
//!
//! Rules of the road:
//! - Gradients flow to *tracked* tensors ([`Tensor::requires_grad`](crate::Tensor::requires_grad)).
//! - Reverse-over-forward (a JVP inside a reverse pass: free-form flows, TRADE) and
//!   forward-over-reverse (a JVP of a gradient: [`hvp`]) both work. A backward pass carries
//!   tangents exactly when the output it starts from (or its cotangent) carries one; otherwise
//!   it strips them, so backward passes through dual computations cost no more than plain ones.
//! - Forward mode does not nest: [`make_dual`] on a tensor that already carries a tangent panics.
//! - [`Tensor::detach`](crate::Tensor::detach) stops both cotangent and tangent flow.

pub mod forward;
pub mod functional;
pub mod fused;
pub(crate) mod graph;
pub mod reverse;

pub use forward::{jvp, make_dual};
pub use functional::{hvp, hvp_reverse, jacobian, jacobian_reverse};
pub use graph::{GradModeGuard, is_grad_enabled, no_grad};
pub use reverse::{Gradients, grad, grad_with_graph, vjp, vjp_with_graph};
