//! Probability densities: the [`Density`] interface every model of the workspace implements
//! (flows, free-form flows, base distributions), and the learnable base distributions a
//! flow's config can name ([`BaseConfig`]).
//!
//! Convention: samples and data are `[n, event_dim]`; `log_prob` returns `[n]` (natural log,
//! with respect to Lebesgue measure unless a type documents another).

mod base;
mod mixture;
mod normal;
mod special;
mod student_t;
mod uniform;

use rand::Rng;

pub use base::{Base, BaseConfig};
pub use mixture::GaussianMixture;
pub use normal::{DiagonalNormal, StandardNormal};
pub use special::ln_gamma;
pub use student_t::StudentT;
pub use uniform::UniformBox;

use crate::autodiff::no_grad;
use crate::tensor::Tensor;

/// A density over `[n, event_dim]` rows, optionally conditioned on `[n, c]` rows.
///
/// Implementors provide [`Density::log_prob`] and [`Density::rsample`]; models that compute
/// samples and their log-density in one pass (flows) override
/// [`Density::sample_and_log_prob`].
///
/// ```
/// use flow_core::distributions::{Density, StandardNormal};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let base: &dyn Density = &StandardNormal::new(3);
/// let (x, lp) = base.sample_and_log_prob(4, None, &mut rng);
/// assert_eq!((x.shape(), lp.shape()), (&[4, 3][..], &[4][..]));
/// assert!(lp.sub(&base.log_prob(&x, None)).abs().max_axis(0, false).item() < 1e-12);
/// ```
pub trait Density {
    /// Width of one sample.
    fn event_dim(&self) -> usize;

    /// `log p(x | condition)` per row: `[n, event_dim] → [n]`.
    ///
    /// # Panics
    /// If `x` or the condition has the wrong shape.
    fn log_prob(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor;

    /// `n` reparameterised samples `[n, event_dim]`: the graph to the parameters is kept, so
    /// a loss of the samples (reverse KL) differentiates through them.
    ///
    /// # Panics
    /// If the condition has the wrong shape.
    fn rsample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor;

    /// `n` samples with nothing recorded (the usual way to sample).
    ///
    /// # Panics
    /// As [`Density::rsample`].
    fn sample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        no_grad(|| self.rsample(n, condition, rng))
    }

    /// Reparameterised samples and their log-density.
    ///
    /// # Panics
    /// As [`Density::rsample`].
    fn sample_and_log_prob(
        &self,
        n: usize,
        condition: Option<&Tensor>,
        rng: &mut dyn Rng,
    ) -> (Tensor, Tensor) {
        let x = self.rsample(n, condition, rng);
        let lp = self.log_prob(&x, condition);
        (x, lp)
    }
}

/// Checks that `x` is `[n, dim]`, naming the density in the panic.
pub(crate) fn check_rows(what: &str, dim: usize, x: &Tensor) {
    assert!(
        x.ndim() == 2 && x.dim(1) == dim,
        "{what}::log_prob: expected [batch, {dim}], got {:?}",
        x.shape()
    );
}
