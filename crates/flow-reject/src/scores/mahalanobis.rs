//! Class-conditional Mahalanobis distance with a shared covariance (Lee et al. 2018, arXiv
//! 1807.03888; "Mahalanobis" in arXiv 2303.09989):
//! `s(f) = min_c (f − μ_c)ᵀ Σ⁺ (f − μ_c)`, with class means `μ_c` and the shared covariance
//! `Σ = (1/n) Σ_i (f_i − μ_{y_i})(f_i − μ_{y_i})ᵀ` of the class-centred training features.
//!
//! **Singular covariance:** `Σ⁺` is the pseudo-inverse with relative cutoff `rcond`
//! (see [`crate::linalg::pinv_whitener`]), as the official code's sklearn
//! `EmpiricalCovariance` does; directions without training variance are ignored.

use nalgebra::{DMatrix, DVector};

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_finite, check_observed};
use crate::linalg::{pinv_whitener, second_moment};

/// Minimum over classes of the squared Mahalanobis distance to the class mean.
#[derive(Clone, Debug)]
pub struct Mahalanobis {
    /// Relative eigenvalue cutoff of the pseudo-inverse.
    pub rcond: f64,
    fitted: Option<Fitted>,
}

#[derive(Clone, Debug)]
struct Fitted {
    /// Whitened class means `μ_c A`, one row per class seen in training.
    means: DMatrix<f64>,
    /// `A` with `A Aᵀ = Σ⁺`.
    whitener: DMatrix<f64>,
}

impl Default for Mahalanobis {
    fn default() -> Mahalanobis {
        Mahalanobis {
            rcond: 1e-10,
            fitted: None,
        }
    }
}

impl Mahalanobis {
    /// A score with given class means (rows of `means`) and precision whitener `A`
    /// (`A Aᵀ = Σ⁻¹`); e.g. `A = I` gives the squared Euclidean distance to the nearest mean.
    ///
    /// # Panics
    /// If `means` and `whitener` disagree on the feature width.
    pub fn from_parameters(means: &DMatrix<f64>, whitener: DMatrix<f64>) -> Mahalanobis {
        assert_eq!(
            means.ncols(),
            whitener.nrows(),
            "Mahalanobis: width mismatch"
        );
        Mahalanobis {
            rcond: 1e-10,
            fitted: Some(Fitted {
                means: means * &whitener,
                whitener,
            }),
        }
    }
}

/// Class means of the classes present (rows) and the class-centred features.
fn class_centred(f: &DMatrix<f64>, labels: &[usize]) -> (DMatrix<f64>, DMatrix<f64>) {
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let d = f.ncols();
    let mut sums = vec![DVector::<f64>::zeros(d); classes];
    let mut counts = vec![0usize; classes];
    for (row, &y) in f.row_iter().zip(labels) {
        sums[y] += row.transpose();
        counts[y] += 1;
    }
    let means: Vec<DVector<f64>> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { s.clone() })
        .collect();
    let mut centred = f.clone();
    for (mut row, &y) in centred.row_iter_mut().zip(labels) {
        row -= means[y].transpose();
    }
    let present: Vec<DVector<f64>> = means
        .into_iter()
        .zip(&counts)
        .filter(|(_, c)| **c > 0)
        .map(|(m, _)| m)
        .collect();
    (DMatrix::from_columns(&present).transpose(), centred)
}

impl IncompetenceScore for Mahalanobis {
    fn name(&self) -> &'static str {
        "Mahalanobis"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        assert_eq!(
            data.labels.len(),
            data.train.len(),
            "Mahalanobis: labels vs samples"
        );
        if data.train.len() < 2 {
            return Err(RejectError::TooFewSamples {
                score: "Mahalanobis",
                need: 2,
                got: data.train.len(),
            });
        }
        let (means, centred) = class_centred(&data.train.features, data.labels);
        let whitener = pinv_whitener(&second_moment(&centred), self.rcond).ok_or_else(|| {
            RejectError::Degenerate {
                score: "Mahalanobis",
                message: "class-centred covariance is zero".into(),
            }
        })?;
        self.fitted = Some(Fitted {
            means: &means * &whitener,
            whitener,
        });
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("Mahalanobis"))?;
        check_finite("features", &obs.features)?;
        if obs.features.ncols() != fit.whitener.nrows() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: fit.whitener.nrows(),
                got: obs.features.ncols(),
            });
        }
        let z = &obs.features * &fit.whitener;
        Ok(z.row_iter()
            .map(|zr| {
                fit.means
                    .row_iter()
                    .map(|m| (zr - m).norm_squared())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect())
    }
}
