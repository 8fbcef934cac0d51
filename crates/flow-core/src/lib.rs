//! # flow-core
//!
//! The engine every crate of the `flows` workspace stands on: an n-dimensional [`Tensor`]
//! (f32 or f64 at run time, batch axis first) with define-by-run automatic differentiation in
//! both modes, nestable:
//!
//! - reverse mode: [`grad`], [`vjp`], and `*_with_graph` variants whose results are
//!   differentiable again;
//! - forward mode: [`make_dual`] / [`jvp`], whose tangents are recorded ops, so a JVP can sit
//!   inside a reverse pass (free-form flows: `∇θ [vᵀ J_f(x) · stop_grad(J_g(z) v)]`);
//! - [`hvp`] (forward-over-reverse: a JVP of a gradient), dense per-sample [`jacobian`], [`Tensor::slogdet`], [`no_grad`].
//!
//! On top: [`nn`] layers with named parameters and safetensors checkpoints, [`optim`]
//! optimisers and schedules, [`train`] (the one training loop: checkpoints, resume,
//! validation, early stopping), [`distributions`], and (feature `testing`) a gradient checker.
//!
//! Not here: bijections and flows (`flow-coupling`), data sets and energies (`flow-data`).
//!
//! ```
//! use flow_core::{Tensor, grad_with_graph, grad};
//! // d²/dx² x³ at x = 2 is 12.
//! let x = Tensor::from_slice(&[2.0f64], &[1]).requires_grad();
//! let y = x.powf(3.0).sum_all();
//! let dy = grad_with_graph(&y, &[&x]).remove(0);
//! let d2y = grad(&dy.sum_all(), &[&x]).remove(0);
//! assert!((d2y.item() - 12.0).abs() < 1e-12);
//! ```

pub mod allocator;
pub mod autodiff;
pub mod data;
pub mod distributions;
pub mod dtype;
pub mod fastmath;
pub mod io;
pub mod linalg;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod parallel;
pub mod prelude;
pub mod tensor;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod train;

pub use autodiff::{
    GradModeGuard, Gradients, grad, grad_with_graph, hvp, hvp_reverse, is_grad_enabled, jacobian,
    jacobian_reverse, jvp, make_dual, no_grad, vjp, vjp_with_graph,
};
pub use data::Data;

/// The version of flow-core's numerics: bumped when a change inside flow-core alters results
/// beyond what callers can see in their own code (a new GEMM backend, a fused op that sums in
/// another order). Result caches (the `flows` report) include it in their keys, so a bump
/// reruns every experiment instead of mixing numbers from two engines.
///
/// History: 1 = matrixmultiply GEMM; 2 = faer GEMM and the fused `linear` op (session 6);
/// 3 = faer instead of nalgebra for the dense decompositions of `linalg` (session 7);
/// 4 = the vectorised f32 `tanh` and `ln(1+x)` of [`fastmath`] instead of libm's (softplus, log1p, tanh; session 8);
/// 5 = the vectorised `sin`/`cos` of [`fastmath`] (f32 and f64) in the `sin`/`cos` ops (session 9);
/// 6 = the recorded derivative product `g ⊙ f′(x)` (`ops/deriv_product.rs`): second
/// derivatives of tanh, sigmoid, softplus, ELU, exp, sin and cos round as the scalar `f″`
/// instead of the composed tensor expression (session 10);
/// 7 = the f32 `exp` of [`fastmath`] (sigmoid, SiLU, softplus, tanh) evaluated with fused
/// multiply-adds, and the rounding of every f32 exp-based activation with it; f32 ELU through
/// the vectorised [`fastmath::exp_m1_f32`] instead of libm's `expm1f`; the f32 `log` op through
/// [`fastmath::ln_f32`] instead of libm's `logf` (session 17).
/// Not bumped in session 22: the outer-product kernel and [`allocator::CacheAligned`] left
/// every product bit-identical (tested), and every value of the quick report (30 experiments)
/// was the same before and after.
pub const NUMERICS_VERSION: u32 = 7;
pub use dtype::{DType, Element};
pub use tensor::Tensor;
