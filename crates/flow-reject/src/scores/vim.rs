//! Virtual-logit matching (ViM; Wang et al. 2022, arXiv 2203.10807; "ViM" in arXiv
//! 2303.09989, official `scores.py`):
//! 1. origin `u = −W⁺ b` (so `W u + b = 0` when `W` has full row rank);
//! 2. eigenvectors of the uncentred second moment of the training `f − u`, descending;
//! 3. residual space `R` = eigenvectors beyond the first `dim` (principal) ones;
//! 4. `α = mean_train(max_c l_c) / mean_train(‖(f − u)R‖)`;
//! 5. `s(f) = α ‖(f − u) R‖ − logsumexp(l)`.
//!
//! The paper's DIM rule (1000 / 512 / 256 by width) assumes wide backbones; for the 128-wide
//! digits MLP `competence-regions.md` §4 sets `dim = 32`, so `dim` is a parameter.

use nalgebra::{DMatrix, DVector};

use super::IncompetenceScore;
use super::energy::energy_rows;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_observed};
use crate::linalg::{eigh_descending, second_moment, sub_row};

/// ViM with `dim` principal dimensions.
#[derive(Clone, Debug)]
pub struct Vim {
    /// Principal dimensions; the residual space is the rest.
    pub dim: usize,
    fitted: Option<VimFit>,
}

/// The fitted origin, residual basis and scale.
#[derive(Clone, Debug)]
pub struct VimFit {
    /// `u = −W⁺ b`.
    pub origin: DVector<f64>,
    /// `[D, D − dim]` orthonormal residual basis.
    pub residual: DMatrix<f64>,
    /// `α`.
    pub alpha: f64,
}

/// The paper's DIM rule for a feature width `d` (official code): 1000 if `d ≥ 2048`, 512 if
/// `1000 ≤ d < 2048`, else 256.
pub fn paper_dim(d: usize) -> usize {
    if d >= 2048 {
        1000
    } else if d >= 1000 {
        512
    } else {
        256
    }
}

impl Vim {
    /// ViM keeping `dim` principal dimensions.
    pub fn new(dim: usize) -> Vim {
        Vim { dim, fitted: None }
    }

    /// The fitted quantities, if fitted.
    pub fn fitted(&self) -> Option<&VimFit> {
        self.fitted.as_ref()
    }

    fn residual_norms(fit: &VimFit, f: &DMatrix<f64>) -> Vec<f64> {
        let proj = sub_row(f, &fit.origin) * &fit.residual;
        proj.row_iter().map(|r| r.norm()).collect()
    }
}

impl IncompetenceScore for Vim {
    fn name(&self) -> &'static str {
        "ViM"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        let f = &data.train.features;
        let d = f.ncols();
        if self.dim >= d {
            return Err(RejectError::InvalidConfig {
                score: "ViM",
                message: format!("dim {} leaves no residual space in {d} features", self.dim),
            });
        }
        if data.train.is_empty() {
            return Err(RejectError::TooFewSamples {
                score: "ViM",
                need: 1,
                got: 0,
            });
        }
        let w = &data.head.weight;
        let pinv = w
            .clone()
            .pseudo_inverse(1e-12)
            .expect("non-negative epsilon");
        let origin = -(pinv * &data.head.bias);
        let (_, vecs) = eigh_descending(&second_moment(&sub_row(f, &origin)));
        let residual = vecs.columns(self.dim, d - self.dim).into_owned();
        let mut fit = VimFit {
            origin,
            residual,
            alpha: 1.0,
        };
        let norms = Self::residual_norms(&fit, f);
        let mean_norm = norms.iter().sum::<f64>() / norms.len() as f64;
        if mean_norm <= 0.0 {
            return Err(RejectError::Degenerate {
                score: "ViM",
                message: "training features have no residual component".into(),
            });
        }
        let mean_max_logit =
            data.train.logits.row_iter().map(|r| r.max()).sum::<f64>() / data.train.len() as f64;
        fit.alpha = mean_max_logit / mean_norm;
        self.fitted = Some(fit);
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("ViM"))?;
        check_observed(obs, None)?;
        if obs.features.ncols() != fit.origin.len() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: fit.origin.len(),
                got: obs.features.ncols(),
            });
        }
        let norms = Self::residual_norms(fit, &obs.features);
        Ok(norms
            .iter()
            .zip(energy_rows(&obs.logits))
            .map(|(n, e)| fit.alpha * n + e)
            .collect())
    }
}
