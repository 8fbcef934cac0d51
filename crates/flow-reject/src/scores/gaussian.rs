//! Gaussian density of the features ("GMM" in arXiv 2303.09989: pyod `GMM` with one component
//! and full covariance, whose decision function is the negative log-likelihood):
//! `s(f) = −log N(f; μ, Σ + εI) = ½[(f − μ)ᵀ(Σ + εI)⁻¹(f − μ) + log det(Σ + εI) + D log 2π]`,
//! with the MLE mean and covariance of the training features.
//!
//! **Singular covariance:** `ε = reg_covar` (default 1e-6, sklearn `GaussianMixture`'s
//! `reg_covar` that pyod passes on) is added to the diagonal, which makes `Σ + εI` positive
//! definite for any training set. This is the paper's one-component setting in closed form;
//! [`super::Gmm`] fits more components by EM and agrees with it at one (tested).

use nalgebra::{DMatrix, DVector};

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_finite, check_observed};
use crate::linalg::{column_mean, second_moment, sub_row};

/// Negative log-density under one full-covariance Gaussian fitted to the training features.
#[derive(Clone, Debug)]
pub struct GaussianDensity {
    /// Ridge added to the covariance diagonal.
    pub reg_covar: f64,
    fitted: Option<(DVector<f64>, nalgebra::Cholesky<f64, nalgebra::Dyn>, f64)>,
}

impl Default for GaussianDensity {
    fn default() -> GaussianDensity {
        GaussianDensity {
            reg_covar: 1e-6,
            fitted: None,
        }
    }
}

impl IncompetenceScore for GaussianDensity {
    fn name(&self) -> &'static str {
        "GMM"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if data.train.is_empty() {
            return Err(RejectError::TooFewSamples {
                score: "GMM",
                need: 1,
                got: 0,
            });
        }
        if self.reg_covar <= 0.0 {
            return Err(RejectError::InvalidConfig {
                score: "GMM",
                message: format!("reg_covar {} must be positive", self.reg_covar),
            });
        }
        let f = &data.train.features;
        let mu = column_mean(f);
        let d = f.ncols();
        let cov = second_moment(&sub_row(f, &mu)) + DMatrix::identity(d, d) * self.reg_covar;
        let chol = cov.cholesky().ok_or_else(|| RejectError::Degenerate {
            score: "GMM",
            message: "regularised covariance is not positive definite".into(),
        })?;
        let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
        let constant = 0.5 * (log_det + d as f64 * (2.0 * std::f64::consts::PI).ln());
        self.fitted = Some((mu, chol, constant));
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let (mu, chol, constant) = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("GMM"))?;
        check_finite("features", &obs.features)?;
        if obs.features.ncols() != mu.len() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: mu.len(),
                got: obs.features.ncols(),
            });
        }
        // Solve L z = (f − μ) for all rows at once: ‖z‖² is the quadratic form.
        let diff = sub_row(&obs.features, mu).transpose();
        let z = chol
            .l()
            .solve_lower_triangular(&diff)
            .expect("Cholesky factor has a positive diagonal");
        Ok(z.column_iter()
            .map(|c| 0.5 * c.norm_squared() + constant)
            .collect())
    }
}
