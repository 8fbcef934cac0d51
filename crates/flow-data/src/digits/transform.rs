//! Dequantisation and per-feature standardisation.

use flow_core::{DType, Tensor};
use rand::Rng;

use super::{Digits, MAX_COUNT, PIXELS};

/// Uniform dequantisation: `x = (k + u) / 17`, `u ~ U(0, 1)` per pixel, so integer counts
/// `k ∈ {0..16}` become a continuous density on `[0, 1]⁶⁴` (Theis et al. 2016, arXiv
/// 1511.01844; the log-likelihood of `x` bounds the discrete one up to `64 log 17`).
pub fn dequantize<R: Rng + ?Sized>(digits: &Digits, dtype: DType, rng: &mut R) -> Tensor {
    let levels = MAX_COUNT + 1.0;
    let u = Tensor::rand_uniform(&[digits.len(), PIXELS], 0.0, 1.0, DType::F64, rng);
    digits
        .counts_tensor(DType::F64)
        .add(&u)
        .mul_scalar(1.0 / levels)
        .to_dtype(dtype)
}

/// Per-feature affine standardisation `z = (x − μ) / s`, fitted on training data. Features
/// whose standard deviation is below `1e-8` (always-blank corner pixels) get `s = 1`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    /// Feature means μ.
    pub mean: Vec<f64>,
    /// Feature scales s.
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits means and (population) standard deviations of `x: [n, d]`.
    ///
    /// # Panics
    /// If `x` is not 2-D or has no rows.
    pub fn fit(x: &Tensor) -> Standardizer {
        assert!(
            x.ndim() == 2 && x.dim(0) > 0,
            "Standardizer::fit: expected [n>0, d], got {:?}",
            x.shape()
        );
        let mean = x.mean_axis(0, false).to_vec_f64();
        let scale = x
            .var_axis(0, false)
            .to_vec_f64()
            .into_iter()
            .map(|v| if v.sqrt() < 1e-8 { 1.0 } else { v.sqrt() })
            .collect();
        Standardizer { mean, scale }
    }

    /// `(x − μ) / s` (differentiable in `x`).
    pub fn transform(&self, x: &Tensor) -> Tensor {
        let (mu, s) = self.tensors(x);
        x.sub(&mu).div(&s)
    }

    /// `z · s + μ`.
    pub fn inverse(&self, z: &Tensor) -> Tensor {
        let (mu, s) = self.tensors(z);
        z.mul(&s).add(&mu)
    }

    /// `log |det ∂z/∂x| = −Σ log s`, to add to a standardised-space log-density.
    pub fn log_abs_det(&self) -> f64 {
        -self.scale.iter().map(|s| s.ln()).sum::<f64>()
    }

    fn tensors(&self, like: &Tensor) -> (Tensor, Tensor) {
        let d = self.mean.len();
        assert_eq!(
            like.dim(1),
            d,
            "Standardizer: expected {d} features, got {:?}",
            like.shape()
        );
        (
            Tensor::from_vec(self.mean.clone(), &[1, d]).to_dtype(like.dtype()),
            Tensor::from_vec(self.scale.clone(), &[1, d]).to_dtype(like.dtype()),
        )
    }
}
