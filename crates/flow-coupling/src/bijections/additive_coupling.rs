//! Volume-preserving couplings: NICE's additive coupling and GIN's mean-zero affine coupling.
//!
//! - Additive (NICE): `z_a = x_a + t(x_p, c)`, `log |det| = 0`.
//! - GIN: `z_a = x_a ⊙ exp(s̃) + t` with `s̃ = s − mean(s)` over the active features, so
//!   `log |det| = Σ s̃ = 0` exactly: volume preserving, yet able to rescale individual axes.
//!
//! References: Dinh, Krueger, Bengio, "NICE", arXiv 1410.8516; Sorrenson, Rother, Köthe,
//! "Disentanglement by Nonlinear ICA with General Incompressible-flow Networks (GIN)",
//! arXiv 2001.04872. Used by the volume-preserving limits of Draxler et al., arXiv 2402.06578.

use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::coupling::{ActiveHalf, Coupling, CouplingTransform, raw_column};
use crate::conditioner::{ConditionConfig, SubnetConfig};

/// Which volume-preserving transform.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum VolumePreserving {
    /// `x + t` (NICE).
    Shift,
    /// `x ⊙ exp(s − mean s) + t` with `s = clamp · tanh(ŝ / clamp)` (GIN).
    Gin {
        /// Soft-clamp bound of the raw log-scales.
        clamp: f64,
    },
}

/// The element-wise part of an additive (or GIN) coupling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Additive {
    /// The variant.
    pub kind: VolumePreserving,
}

/// A NICE/GIN coupling block.
pub type AdditiveCoupling = Coupling<Additive>;

impl AdditiveCoupling {
    /// Builds an additive (or GIN) coupling; see [`Coupling::build`].
    ///
    /// # Panics
    /// If `dim < 2`.
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        kind: VolumePreserving,
        dim: usize,
        active: ActiveHalf,
        subnet: &SubnetConfig,
        condition: Option<&ConditionConfig>,
        dtype: DType,
        rng: &mut R,
    ) -> AdditiveCoupling {
        Coupling::build(
            prefix,
            Additive { kind },
            dim,
            active,
            subnet,
            condition,
            dtype,
            rng,
        )
    }
}

impl Additive {
    /// Mean-zero log-scales `s̃` (GIN) or `None` (NICE).
    fn log_scale(&self, raw: &Tensor) -> Option<Tensor> {
        match self.kind {
            VolumePreserving::Shift => None,
            VolumePreserving::Gin { clamp } => {
                let s = raw_column(raw, 1)
                    .mul_scalar(1.0 / clamp)
                    .tanh()
                    .mul_scalar(clamp);
                Some(s.sub(&s.mean_axis(1, true)))
            }
        }
    }
}

impl CouplingTransform for Additive {
    fn name(&self) -> &'static str {
        match self.kind {
            VolumePreserving::Shift => "AdditiveCoupling",
            VolumePreserving::Gin { .. } => "GinCoupling",
        }
    }

    fn params_per_dim(&self) -> usize {
        match self.kind {
            VolumePreserving::Shift => 1,
            VolumePreserving::Gin { .. } => 2,
        }
    }

    fn forward(&self, a: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        let t = raw_column(raw, 0);
        let y = match self.log_scale(raw) {
            None => a.add(&t),
            Some(s) => a.mul(&s.exp()).add(&t),
        };
        (y, Tensor::zeros(&[a.dim(0)], a.dtype()))
    }

    fn inverse(&self, b: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        let t = raw_column(raw, 0);
        let x = match self.log_scale(raw) {
            None => b.sub(&t),
            Some(s) => b.sub(&t).mul(&s.neg().exp()),
        };
        (x, Tensor::zeros(&[b.dim(0)], b.dtype()))
    }
}
