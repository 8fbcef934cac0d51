//! Hutchinson vectors for the free-form trace estimator.
//!
//! References: FFF arXiv:2310.16624, Eq. (8) (Hutchinson estimate `tr(A) = E_v[vᵀ A v]` for
//! `E[v vᵀ] = I`); the official `sample_v` (QR of a Gaussian, scaled by `√dim`) used by both FFF
//! and FIF arXiv:2306.01843, §3.

use flow_core::{DType, Tensor};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// How Hutchinson vectors are drawn. All choices satisfy `E[v vᵀ] = I`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HutchinsonSampler {
    /// Per sample, a Haar-random orthonormal K-frame (reduced QR of a Gaussian `dim × K`
    /// matrix) scaled by `√dim`: every column has norm `√dim`, columns are mutually
    /// orthogonal. The official default.
    #[default]
    Qr,
    /// Independent Gaussians normalised to radius `√dim` (identical to `Qr` for K = 1).
    Sphere,
    /// Plain standard Gaussians (higher variance; for comparisons).
    Gaussian,
}

/// Draws `k` Hutchinson vectors for each of `batch` samples in `R^dim`; returns `k` tensors of
/// shape `[batch, dim]` (the i-th holds column i of every sample's frame).
///
/// References: FFF arXiv:2310.16624, Eq. (8); FIF arXiv:2306.01843, §3.2 (v in the latent).
///
/// # Panics
/// If `k == 0`, or `k > dim` for [`HutchinsonSampler::Qr`] (an orthonormal frame of more than
/// `dim` vectors does not exist).
///
/// ```
/// use flow_freeform::{sample_v, HutchinsonSampler};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let vs = sample_v(4, 3, 2, HutchinsonSampler::Qr, flow_core::DType::F64, &mut rng);
/// let norm2: f64 = vs[0].to_vec_f64()[..3].iter().map(|x| x * x).sum();
/// assert!((norm2 - 3.0).abs() < 1e-12);
/// ```
pub fn sample_v<R: Rng + ?Sized>(
    batch: usize,
    dim: usize,
    k: usize,
    sampler: HutchinsonSampler,
    dtype: DType,
    rng: &mut R,
) -> Vec<Tensor> {
    assert!(k >= 1, "sample_v: need at least one Hutchinson vector");
    assert!(
        sampler != HutchinsonSampler::Qr || k <= dim,
        "sample_v: {k} orthonormal vectors do not fit in dimension {dim}"
    );
    let scale = (dim as f64).sqrt();
    // columns[i] holds the i-th vector of every sample, row-major [batch, dim].
    let mut columns = vec![vec![0.0f64; batch * dim]; k];
    for b in 0..batch {
        let mut frame: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..dim).map(|_| StandardNormal.sample(rng)).collect())
            .collect();
        match sampler {
            HutchinsonSampler::Qr => orthonormalise(&mut frame),
            HutchinsonSampler::Sphere => frame.iter_mut().for_each(|v| normalise(v)),
            HutchinsonSampler::Gaussian => {}
        }
        let s = if sampler == HutchinsonSampler::Gaussian {
            1.0
        } else {
            scale
        };
        for (i, v) in frame.iter().enumerate() {
            for (j, x) in v.iter().enumerate() {
                columns[i][b * dim + j] = s * x;
            }
        }
    }
    columns
        .into_iter()
        .map(|c| Tensor::from_vec(c, &[batch, dim]).to_dtype(dtype))
        .collect()
}

/// Hutchinson vectors shaped like `z` (`[batch, ...]`): `k` tensors of `z`'s shape and dtype,
/// drawn on the flattened per-sample dimension.
///
/// References: FFF arXiv:2310.16624, Eq. (8).
///
/// # Panics
/// As [`sample_v`].
pub fn sample_like<R: Rng + ?Sized>(
    z: &Tensor,
    k: usize,
    sampler: HutchinsonSampler,
    rng: &mut R,
) -> Vec<Tensor> {
    let batch = z.dim(0);
    let dim = z.len() / batch.max(1);
    sample_v(batch, dim, k, sampler, z.dtype(), rng)
        .into_iter()
        .map(|v| v.reshape(z.shape()))
        .collect()
}

fn normalise(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// Modified Gram–Schmidt, twice for round-off ("twice is enough"). For Gaussian input this is
/// the Q of a QR decomposition with positive diagonal R, hence Haar-distributed.
fn orthonormalise(frame: &mut [Vec<f64>]) {
    for i in 0..frame.len() {
        for _ in 0..2 {
            for j in 0..i {
                let dot: f64 = frame[i].iter().zip(&frame[j]).map(|(a, b)| a * b).sum();
                let (head, tail) = frame.split_at_mut(i);
                tail[0]
                    .iter_mut()
                    .zip(&head[j])
                    .for_each(|(a, b)| *a -= dot * b);
            }
        }
        normalise(&mut frame[i]);
    }
}
