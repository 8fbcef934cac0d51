//! PCA reconstruction error ("PCA" in arXiv 2303.09989, official code: sklearn
//! `PCA(n_components=0.9)`): with training mean `μ` and the top-`k` principal directions `V_k`,
//! `k` the smallest number whose eigenvalues hold at least `variance` of the total,
//! `s(f) = (1/D) ‖(f − μ) − V_k V_kᵀ (f − μ)‖²` (mean squared reconstruction error).

use nalgebra::{DMatrix, DVector};

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_finite, check_observed};
use crate::linalg::{column_mean, eigh_descending, second_moment, sub_row};

/// Mean squared error of the reconstruction from the principal subspace.
#[derive(Clone, Debug)]
pub struct PcaError {
    /// Fraction of variance the kept components must explain (0.9).
    pub variance: f64,
    fitted: Option<(DVector<f64>, DMatrix<f64>, f64)>,
}

impl PcaError {
    /// Keeps components up to `variance` explained variance.
    pub fn new(variance: f64) -> PcaError {
        PcaError {
            variance,
            fitted: None,
        }
    }

    /// Number of kept components and the fraction of variance they explain, if fitted.
    pub fn kept(&self) -> Option<(usize, f64)> {
        self.fitted.as_ref().map(|(_, v, frac)| (v.ncols(), *frac))
    }
}

impl IncompetenceScore for PcaError {
    fn name(&self) -> &'static str {
        "PCA"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if !(self.variance > 0.0 && self.variance <= 1.0) {
            return Err(RejectError::InvalidConfig {
                score: "PCA",
                message: format!("variance fraction {} not in (0, 1]", self.variance),
            });
        }
        if data.train.len() < 2 {
            return Err(RejectError::TooFewSamples {
                score: "PCA",
                need: 2,
                got: data.train.len(),
            });
        }
        let f = &data.train.features;
        let mu = column_mean(f);
        let (vals, vecs) = eigh_descending(&second_moment(&sub_row(f, &mu)));
        let vals: Vec<f64> = vals.iter().map(|v| v.max(0.0)).collect();
        let total: f64 = vals.iter().sum();
        if total <= 0.0 {
            return Err(RejectError::Degenerate {
                score: "PCA",
                message: "training features have zero variance".into(),
            });
        }
        let mut acc = 0.0;
        let mut k = 0;
        while k < vals.len() && acc < self.variance * total * (1.0 - 1e-12) {
            acc += vals[k];
            k += 1;
        }
        self.fitted = Some((mu, vecs.columns(0, k).into_owned(), acc / total));
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let (mu, v, _) = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("PCA"))?;
        check_finite("features", &obs.features)?;
        if obs.features.ncols() != mu.len() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: mu.len(),
                got: obs.features.ncols(),
            });
        }
        let x = sub_row(&obs.features, mu);
        let resid = &x - (&x * v) * v.transpose();
        let d = mu.len() as f64;
        Ok(resid.row_iter().map(|r| r.norm_squared() / d).collect())
    }
}
