//! Base distributions of normalizing flows: standard and diagonal normal.

use rand::Rng;
use std::f64::consts::PI;

use crate::dtype::DType;
use crate::tensor::Tensor;

/// `½ ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

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
}

impl StandardNormal {
    /// `N(0, I)` in `dim` dimensions.
    pub fn new(dim: usize) -> StandardNormal {
        StandardNormal { dim }
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

/// `N(μ, diag(σ²))` with `σ = exp(log_std)`; `mean` and `log_std` are `[dim]` tensors that may
/// be tracked parameters (sampling is reparameterised, so gradients flow through samples).
#[derive(Clone, Debug)]
pub struct DiagonalNormal {
    /// Mean `μ`, shape `[dim]`.
    pub mean: Tensor,
    /// `ln σ`, shape `[dim]`.
    pub log_std: Tensor,
}

impl DiagonalNormal {
    /// # Panics
    /// If the shapes are not equal `[dim]`.
    pub fn new(mean: Tensor, log_std: Tensor) -> DiagonalNormal {
        assert!(
            mean.ndim() == 1 && mean.shape() == log_std.shape(),
            "DiagonalNormal: mean {:?} and log_std {:?} must both be [dim]",
            mean.shape(),
            log_std.shape()
        );
        DiagonalNormal { mean, log_std }
    }

    /// The event dimension.
    pub fn dim(&self) -> usize {
        self.mean.dim(0)
    }

    /// `Σ_d [−½((x−μ)/σ)² − ln σ − ½ ln 2π]` per sample.
    pub fn log_prob(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 2 && x.dim(1) == self.dim(),
            "DiagonalNormal::log_prob: expected [batch, {}], got {:?}",
            self.dim(),
            x.shape()
        );
        let z = x.sub(&self.mean).mul(&self.log_std.neg().exp());
        z.square()
            .mul_scalar(-0.5)
            .sub(&self.log_std)
            .sum_axis(1, false)
            .add_scalar(-(self.dim() as f64) * 0.5 * (2.0 * PI).ln())
    }

    /// `n` reparameterised samples `μ + σ ε`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Tensor {
        let eps = Tensor::randn(&[n, self.dim()], self.mean.dtype(), rng);
        eps.mul(&self.log_std.exp()).add(&self.mean)
    }
}
