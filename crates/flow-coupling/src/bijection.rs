//! The [`Bijection`] trait: the direction and sign conventions every block of this crate obeys,
//! and the shape checks that give every block the same error messages.

use flow_core::Tensor;
use flow_core::nn::Module;

/// An invertible map `f: ℝ^D → ℝ^D` with a tractable log-determinant, optionally conditioned
/// on an external tensor `c` of declared shape `[batch, cond_dim]`.
///
/// # Direction and sign (MUST)
/// - `forward` maps **data x → latent z** (the density direction), so
///   `log p(x | c) = log p_Z(forward(x, c)) + ladj_forward(x, c)`.
/// - `inverse` maps latent z → data x (the sampling direction).
/// - [`Bijection::forward_and_ladj`] MUST return `(z, log |det ∂z/∂x|)` and
///   [`Bijection::inverse_and_ladj`] MUST return `(x, log |det ∂x/∂z|)`; at `z = forward(x)`,
///   `ladj_inverse(z) = −ladj_forward(x)` (checked for every block by the conformance table).
///
/// # Shapes
/// Inputs are `[batch, dim]`, log-determinants `[batch]`. A conditional block
/// (`cond_dim() == Some(k)`) requires a condition `[batch, k]`; an unconditional block
/// (`None`) rejects any condition. A wrong shape is a programmer error and panics with the
/// block's name and both shapes (see [`check_input`]); [`Flow`](crate::Flow) routes the
/// condition only to conditional blocks.
///
/// All computations are flow-core ops, so log-densities can be differentiated in the
/// parameters, in `x` and (for TRADE) in the condition, to any order.
pub trait Bijection: Module {
    /// The block's name in error messages (`"AffineCoupling"`).
    fn name(&self) -> &str;

    /// The event dimension `D`.
    fn dim(&self) -> usize;

    /// The declared condition width, or `None` for an unconditional block.
    fn cond_dim(&self) -> Option<usize> {
        None
    }

    /// `(z, log |det ∂z/∂x|)` for `x: [batch, dim]`: data → latent.
    ///
    /// # Panics
    /// If `x` or `cond` has the wrong shape (see the trait docs).
    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor);

    /// `(x, log |det ∂x/∂z|)` for `z: [batch, dim]`: latent → data.
    ///
    /// # Panics
    /// If `z` or `cond` has the wrong shape (see the trait docs).
    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor);

    /// `z = f(x)` (see [`Bijection::forward_and_ladj`]).
    ///
    /// # Panics
    /// As [`Bijection::forward_and_ladj`].
    fn forward(&self, x: &Tensor, cond: Option<&Tensor>) -> Tensor {
        self.forward_and_ladj(x, cond).0
    }

    /// `x = f⁻¹(z)` (see [`Bijection::inverse_and_ladj`]).
    ///
    /// # Panics
    /// As [`Bijection::inverse_and_ladj`].
    fn inverse(&self, z: &Tensor, cond: Option<&Tensor>) -> Tensor {
        self.inverse_and_ladj(z, cond).0
    }

    /// Data-dependent initialisation from a batch `x` arriving at this block (ActNorm sets
    /// its statistics); a no-op for most blocks.
    fn initialize(&self, x: &Tensor, cond: Option<&Tensor>) {
        let _ = (x, cond);
    }

    /// Fixed, non-trainable tensors that define the block (permutation indices, fixed
    /// rotations), by name. Checkpoints store them to verify that a model is rebuilt the
    /// same way before parameters are restored.
    fn buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
}

/// Checks `x: [batch, dim]` and the condition against a block's declaration.
///
/// # Panics
/// With one of these exact messages (`{name}` is the block's name):
/// - `{name}: expected input of shape [batch, {dim}], got {shape:?}`
/// - `{name}: expected a condition of shape [{batch}, {k}], got none`
/// - `{name}: expected a condition of shape [{batch}, {k}], got {shape:?}`
/// - `{name}: unconditional, but got a condition of shape {shape:?}`
pub fn check_input(
    name: &str,
    dim: usize,
    cond_dim: Option<usize>,
    x: &Tensor,
    cond: Option<&Tensor>,
) {
    assert!(
        x.ndim() == 2 && x.dim(1) == dim,
        "{name}: expected input of shape [batch, {dim}], got {:?}",
        x.shape()
    );
    let batch = x.dim(0);
    match (cond_dim, cond) {
        (Some(k), None) => panic!("{name}: expected a condition of shape [{batch}, {k}], got none"),
        (Some(k), Some(c)) => assert!(
            c.ndim() == 2 && c.dim(0) == batch && c.dim(1) == k,
            "{name}: expected a condition of shape [{batch}, {k}], got {:?}",
            c.shape()
        ),
        (None, Some(c)) => panic!(
            "{name}: unconditional, but got a condition of shape {:?}",
            c.shape()
        ),
        (None, None) => {}
    }
}

/// A `[batch]` tensor holding the same log-determinant for every sample.
pub(crate) fn constant_ladj(value: &Tensor, batch: usize) -> Tensor {
    value.reshape(&[1]).broadcast_to(&[batch])
}
