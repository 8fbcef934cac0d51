//! The standard normal and the learnable diagonal normal.

use rand::Rng;

use super::Density;
use crate::dtype::DType;
use crate::nn::{Module, Param};
use crate::tensor::Tensor;

/// `½ ln(2π)`.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The standard normal `N(0, I_dim)` over `[batch, dim]`.
///
/// ```
/// use flow_core::{Tensor, DType, distributions::StandardNormal};
/// let n = StandardNormal::new(2);
/// let lp = n.log_prob(&Tensor::zeros(&[1, 2], DType::F64));
/// assert!((lp.item() + (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StandardNormal {
    dim: usize,
    dtype: DType,
}

impl StandardNormal {
    /// `N(0, I)` in `dim` dimensions.
    pub fn new(dim: usize) -> StandardNormal {
        StandardNormal {
            dim,
            dtype: DType::F64,
        }
    }

    /// Sets the dtype of samples drawn through [`Density`] (F64 unless set).
    pub fn with_dtype(mut self, dtype: DType) -> StandardNormal {
        self.dtype = dtype;
        self
    }

    /// The event dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `log N(x; 0, I) = −½‖x‖² − (D/2) ln 2π` per sample: `[batch, dim] → [batch]`.
    ///
    /// # Panics
    /// If `x` is not `[batch, dim]`.
    pub fn log_prob(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 2 && x.dim(1) == self.dim,
            "StandardNormal::log_prob: expected [batch, {}], got {:?}",
            self.dim,
            x.shape()
        );
        x.square()
            .sum_axis(1, false)
            .mul_scalar(-0.5)
            .add_scalar(-(self.dim as f64) * HALF_LN_2PI)
    }

    /// `n` samples `[n, dim]`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, dtype: DType, rng: &mut R) -> Tensor {
        Tensor::randn(&[n, self.dim], dtype, rng)
    }
}

/// `N(μ, diag(σ²))` with `σ = exp(log_std)`; `mean` and `log_std` are learnable `[dim]`
/// parameters (`base.mean`, `base.log_std`). Sampling is reparameterised, so gradients flow
/// through samples.
#[derive(Clone, Debug)]
pub struct DiagonalNormal {
    mean: Param,
    log_std: Param,
}

impl DiagonalNormal {
    /// A diagonal normal starting at `mean` and `log_std`.
    ///
    /// # Panics
    /// If the shapes are not equal `[dim]`.
    pub fn new(mean: Tensor, log_std: Tensor) -> DiagonalNormal {
        assert!(
            mean.ndim() == 1 && mean.shape() == log_std.shape(),
            "DiagonalNormal: mean {:?} and log_std {:?} must both be [dim]",
            mean.shape(),
            log_std.shape()
        );
        DiagonalNormal {
            mean: Param::new("base.mean", mean),
            log_std: Param::new("base.log_std", log_std),
        }
    }

    /// The event dimension.
    pub fn dim(&self) -> usize {
        self.mean.get().dim(0)
    }

    /// The current mean `μ`.
    pub fn mean(&self) -> Tensor {
        self.mean.get()
    }

    /// The current `ln σ`.
    pub fn log_std(&self) -> Tensor {
        self.log_std.get()
    }

    /// `Σ_d [−½((x−μ)/σ)² − ln σ − ½ ln 2π]` per sample.
    ///
    /// # Panics
    /// If `x` is not `[batch, dim]`.
    pub fn log_prob(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 2 && x.dim(1) == self.dim(),
            "DiagonalNormal::log_prob: expected [batch, {}], got {:?}",
            self.dim(),
            x.shape()
        );
        let log_std = self.log_std();
        let z = x.sub(&self.mean()).mul(&log_std.neg().exp());
        z.square()
            .mul_scalar(-0.5)
            .sub(&log_std)
            .sum_axis(1, false)
            .add_scalar(-(self.dim() as f64) * HALF_LN_2PI)
    }

    /// `n` reparameterised samples `μ + σ ε`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Tensor {
        let mean = self.mean();
        let eps = Tensor::randn(&[n, self.dim()], mean.dtype(), rng);
        eps.mul(&self.log_std().exp()).add(&mean)
    }
}

impl Module for DiagonalNormal {
    fn parameters(&self) -> Vec<Param> {
        vec![self.mean.clone(), self.log_std.clone()]
    }
}

impl Module for StandardNormal {
    fn parameters(&self) -> Vec<Param> {
        Vec::new()
    }
}

impl Density for StandardNormal {
    fn event_dim(&self) -> usize {
        self.dim
    }
    fn log_prob(&self, x: &Tensor, _condition: Option<&Tensor>) -> Tensor {
        StandardNormal::log_prob(self, x)
    }
    fn rsample(&self, n: usize, _condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        StandardNormal::sample(self, n, self.dtype, rng)
    }
}

impl Density for DiagonalNormal {
    fn event_dim(&self) -> usize {
        self.dim()
    }
    fn log_prob(&self, x: &Tensor, _condition: Option<&Tensor>) -> Tensor {
        DiagonalNormal::log_prob(self, x)
    }
    fn rsample(&self, n: usize, _condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        DiagonalNormal::sample(self, n, rng)
    }
}
