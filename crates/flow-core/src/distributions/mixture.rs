//! A Gaussian mixture with diagonal covariances and learnable weights, means and scales.

use rand::{Rng, RngExt};

use super::normal::HALF_LN_2PI;
use super::{Density, check_rows};
use crate::dtype::DType;
use crate::nn::{Module, Param};
use crate::tensor::Tensor;

/// `p(x) = Σ_k w_k N(x; μ_k, diag σ_k²)` with `w = softmax(base.logits)`, `base.means`
/// `[K, D]` and `base.log_stds` `[K, D]`, all learnable:
/// `log p(x) = logsumexp_k [log w_k − ½‖(x − μ_k)/σ_k‖² − Σ_d ln σ_kd − (D/2) ln 2π]`.
///
/// Sampling picks a component with the current weights (not differentiable in the weights)
/// and returns `μ_k + σ_k ε`, reparameterised in the means and scales.
#[derive(Clone, Debug)]
pub struct GaussianMixture {
    logits: Param,
    means: Param,
    log_stds: Param,
}

impl GaussianMixture {
    /// `components` equally weighted unit-scale components in `dim` dimensions with means
    /// drawn from `N(0, I)`.
    ///
    /// # Panics
    /// If `components` or `dim` is 0.
    pub fn new<R: Rng + ?Sized>(components: usize, dim: usize, dtype: DType, rng: &mut R) -> Self {
        assert!(
            components > 0 && dim > 0,
            "GaussianMixture: {components} components in {dim} dimensions"
        );
        Self::from_parts(
            Tensor::zeros(&[components], dtype),
            Tensor::randn(&[components, dim], dtype, rng),
            Tensor::zeros(&[components, dim], dtype),
        )
    }

    /// A mixture with the given logits `[K]`, means `[K, D]` and log-scales `[K, D]`.
    ///
    /// # Panics
    /// If the shapes disagree.
    pub fn from_parts(logits: Tensor, means: Tensor, log_stds: Tensor) -> GaussianMixture {
        assert!(
            logits.ndim() == 1
                && means.ndim() == 2
                && means.dim(0) == logits.dim(0)
                && log_stds.shape() == means.shape(),
            "GaussianMixture: logits {:?}, means {:?}, log_stds {:?}",
            logits.shape(),
            means.shape(),
            log_stds.shape()
        );
        GaussianMixture {
            logits: Param::new("base.logits", logits),
            means: Param::new("base.means", means),
            log_stds: Param::new("base.log_stds", log_stds),
        }
    }

    /// Number of components.
    pub fn components(&self) -> usize {
        self.logits.get().dim(0)
    }
}

impl Module for GaussianMixture {
    fn parameters(&self) -> Vec<Param> {
        vec![
            self.logits.clone(),
            self.means.clone(),
            self.log_stds.clone(),
        ]
    }
}

impl Density for GaussianMixture {
    fn event_dim(&self) -> usize {
        self.means.get().dim(1)
    }

    fn log_prob(&self, x: &Tensor, _condition: Option<&Tensor>) -> Tensor {
        let (k, d) = (self.components(), self.event_dim());
        check_rows("GaussianMixture", d, x);
        let n = x.dim(0);
        let log_stds = self.log_stds.get().reshape(&[1, k, d]);
        let z = x
            .reshape(&[n, 1, d])
            .sub(&self.means.get().reshape(&[1, k, d]))
            .mul(&log_stds.neg().exp());
        let per_component = z
            .square()
            .mul_scalar(-0.5)
            .sub(&log_stds)
            .sum_axis(2, false)
            .add_scalar(-(d as f64) * HALF_LN_2PI);
        let log_w = self.logits.get().log_softmax(0).reshape(&[1, k]);
        per_component.add(&log_w).logsumexp(1, false)
    }

    fn rsample(&self, n: usize, _condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        let d = self.event_dim();
        let weights = self.logits.get().softmax(0).to_vec_f64();
        let pick: Vec<usize> = (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                weights
                    .iter()
                    .position(|w| {
                        acc += w;
                        u < acc
                    })
                    .unwrap_or(weights.len() - 1)
            })
            .collect();
        let means = self.means.get();
        let eps = Tensor::randn(&[n, d], means.dtype(), rng);
        eps.mul(&self.log_stds.get().index_select(0, &pick).exp())
            .add(&means.index_select(0, &pick))
    }
}
