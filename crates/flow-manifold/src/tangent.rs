//! Hutchinson vectors in the tangent space `T_zM`.
//!
//! References: arXiv:2312.09852, §3 (the trace estimator restricted to the tangent space);
//! the official `loss.py::volume_change_surrogate(manifold=…)`: `v = to_tangent(randn(m), z)`,
//! normalised, times `√m`.

use flow_core::{DType, Tensor, no_grad};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::manifold::Manifold;

/// The length of each tangent Hutchinson vector.
///
/// A unit vector drawn uniformly from the unit sphere of the n-dimensional `T_zM` has
/// `E[uuᵀ] = P_T/n`, where `P_T` is the orthogonal projector onto `T_zM`. Hence:
/// - `√n` gives `E[vvᵀ] = P_T`, so `E[vᵀAv] = tr(P_T A P_T)`: **unbiased** for the trace of the
///   tangent-restricted map (the default);
/// - `√m` (the official code, m the ambient dimension) gives `E[vvᵀ] = (m/n) P_T`: the log-det
///   gradient is scaled by m/n (3/2 on S², 2 on tori, 3 on SO(3)). With a uniform base this
///   only rescales the regularisers' weights by n/m; with a learnable base it reweights
///   `log p_Z` against the log-det. Use it only for parity with the paper's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TangentScale {
    /// Length `√n` (intrinsic dimension): unbiased.
    #[default]
    Intrinsic,
    /// Length `√m` (ambient dimension): the official code, biased by m/n.
    Ambient,
}

/// One tangent Hutchinson vector per row of `z ∈ M` (`[batch, m]`, detached): the tangent
/// projection of a standard Gaussian, normalised and scaled per [`TangentScale`].
///
/// ```
/// use flow_manifold::{Manifold, Sphere, TangentScale, tangent_hutchinson};
/// use flow_core::DType;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2 = Sphere::new(2);
/// let z = s2.sample_uniform(5, DType::F64, &mut rng);
/// let v = tangent_hutchinson(&s2, &z, TangentScale::Intrinsic, &mut rng);
/// let along: f64 = v.mul(&z).sum_all().item();
/// assert!(along.abs() < 1e-12);
/// ```
pub fn tangent_hutchinson(
    manifold: &dyn Manifold,
    z: &Tensor,
    scale: TangentScale,
    rng: &mut dyn Rng,
) -> Tensor {
    let length = match scale {
        TangentScale::Intrinsic => manifold.dim() as f64,
        TangentScale::Ambient => manifold.ambient_dim() as f64,
    }
    .sqrt();
    no_grad(|| {
        let z = z.detach().to_dtype(DType::F64);
        let g = Tensor::randn(z.shape(), DType::F64, rng);
        let t = manifold.to_tangent(&z, &g);
        t.div(&t.norm(1, true)).mul_scalar(length)
    })
    .to_dtype(z.dtype())
}
