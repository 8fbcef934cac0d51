//! Latent distributions `p_Z`: the standard normal, and the mean-free normal of particle
//! systems (E(3)-FFF).
//!
//! References: FFF arXiv:2310.16624, §3 (`p_Z = N(0, I)`) and §5.2 (mean-free prior for
//! Boltzmann generators, following E-NF/EDM).

use std::f64::consts::PI;

use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The latent distribution of a free-form flow. Tensors are flat `[batch, dim]`; particle
/// coordinates are stored row-major as `[particle][spatial]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Latent {
    /// `N(0, I_dim)`, normalising constant included.
    StandardNormal {
        /// Dimension.
        dim: usize,
    },
    /// The standard normal on the mean-free subspace of `particles × spatial` coordinates
    /// (zero centre of mass): `log p(z) = −½‖z − z̄‖² − ½(N−1)D log 2π`.
    MeanFreeNormal {
        /// Number of particles N.
        particles: usize,
        /// Spatial dimension D of each particle.
        spatial: usize,
    },
}

impl Latent {
    /// `N(0, I_dim)`.
    pub fn standard_normal(dim: usize) -> Latent {
        Latent::StandardNormal { dim }
    }

    /// The mean-free normal of `particles` particles in `spatial` dimensions.
    pub fn mean_free(particles: usize, spatial: usize) -> Latent {
        Latent::MeanFreeNormal { particles, spatial }
    }

    /// Flat dimension of a latent vector.
    pub fn dim(&self) -> usize {
        match *self {
            Latent::StandardNormal { dim } => dim,
            Latent::MeanFreeNormal { particles, spatial } => particles * spatial,
        }
    }

    /// Dimension of the support: `dim`, or `(N−1)D` for the mean-free normal.
    pub fn effective_dim(&self) -> usize {
        match *self {
            Latent::StandardNormal { dim } => dim,
            Latent::MeanFreeNormal { particles, spatial } => (particles - 1) * spatial,
        }
    }

    /// The log normalising constant `−½ d_eff log 2π` (what bgflow's NLL convention omits).
    pub fn log_normaliser(&self) -> f64 {
        -0.5 * self.effective_dim() as f64 * (2.0 * PI).ln()
    }

    /// Projects `[batch, dim]` onto the support (identity for the standard normal, centre of
    /// mass removed for the mean-free normal). Differentiable.
    pub fn project(&self, z: &Tensor) -> Tensor {
        match *self {
            Latent::StandardNormal { .. } => z.clone(),
            Latent::MeanFreeNormal { particles, spatial } => remove_mean(z, particles, spatial),
        }
    }

    /// The energy `½‖z‖²` of the projected latent (bgflow's convention, no constant), `[batch]`.
    pub fn energy(&self, z: &Tensor) -> Tensor {
        self.project(z).square().sum_per_sample().mul_scalar(0.5)
    }

    /// `log p_Z(z)` per sample, `[batch]`; differentiable.
    ///
    /// # Panics
    /// If `z` is not `[batch, dim]`.
    pub fn log_prob(&self, z: &Tensor) -> Tensor {
        assert!(
            z.ndim() == 2 && z.dim(1) == self.dim(),
            "Latent::log_prob: expected [batch, {}], got {:?}",
            self.dim(),
            z.shape()
        );
        self.energy(z).neg().add_scalar(self.log_normaliser())
    }

    /// `n` samples `[n, dim]`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, dtype: DType, rng: &mut R) -> Tensor {
        let z = Tensor::randn(&[n, self.dim()], dtype, rng);
        self.project(&z).detach()
    }
}

/// Subtracts the per-sample centre of mass from flat `[batch, particles·spatial]` coordinates.
///
/// # Panics
/// If the feature size is not `particles · spatial`.
pub fn remove_mean(x: &Tensor, particles: usize, spatial: usize) -> Tensor {
    let b = x.dim(0);
    assert_eq!(
        x.len(),
        b * particles * spatial,
        "remove_mean: {:?} is not [batch, {particles}·{spatial}]",
        x.shape()
    );
    let p = x.reshape(&[b, particles, spatial]);
    p.sub(&p.mean_axis(1, true))
        .reshape(&[b, particles * spatial])
}
