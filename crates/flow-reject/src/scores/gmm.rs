//! Gaussian mixture density ("GMM" in arXiv 2303.09989: pyod `GMM`, a wrapper of sklearn
//! `GaussianMixture` with full covariances, whose decision function is the negative
//! log-likelihood): `s(f) = −log Σ_k π_k N(f; μ_k, Σ_k + εI)`, fitted by EM (Dempster, Laird &
//! Rubin 1977). The paper (and [`super::ScoreKind::Gmm`]) uses one component, where EM is the
//! closed-form MLE and the score equals [`super::GaussianDensity`].
//!
//! Initialisation is deterministic: farthest-point seeding from the first sample, then 10
//! Lloyd (k-means) iterations give hard responsibilities; EM runs until the mean
//! log-likelihood rises by less than `tol` or `max_iter` iterations. `ε = reg_covar` (1e-6,
//! sklearn's default) keeps every covariance positive definite.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_finite, check_observed};

/// A full-covariance Gaussian mixture fitted by EM.
#[derive(Clone, Debug)]
pub struct Gmm {
    /// Components `K`.
    pub components: usize,
    /// Ridge on each covariance diagonal.
    pub reg_covar: f64,
    /// Largest number of EM iterations.
    pub max_iter: usize,
    /// Stop when the mean log-likelihood rises by less than this.
    pub tol: f64,
    fitted: Option<Vec<Component>>,
    history: Vec<f64>,
}

#[derive(Clone, Debug)]
struct Component {
    log_weight: f64,
    mean: DVector<f64>,
    chol: Cholesky<f64, Dyn>,
    /// `−½ (log det Σ + D log 2π)`.
    log_norm: f64,
}

impl Gmm {
    /// `components` Gaussians, `reg_covar = 1e-6`, at most 100 EM iterations, `tol = 1e-6`.
    pub fn new(components: usize) -> Gmm {
        Gmm {
            components,
            reg_covar: 1e-6,
            max_iter: 100,
            tol: 1e-6,
            fitted: None,
            history: Vec::new(),
        }
    }

    /// Mean training log-likelihood after each EM iteration (non-decreasing, by EM's
    /// monotonicity).
    pub fn history(&self) -> &[f64] {
        &self.history
    }
}

/// `log N(x; μ, Σ)` of every row of `x` for each component: `[n, K]`.
fn log_densities(comps: &[Component], x: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(x.nrows(), comps.len());
    for (k, c) in comps.iter().enumerate() {
        let mut diff = x.transpose();
        for mut col in diff.column_iter_mut() {
            col -= &c.mean;
        }
        let z = c
            .chol
            .l()
            .solve_lower_triangular(&diff)
            .expect("positive diagonal");
        for (i, col) in z.column_iter().enumerate() {
            out[(i, k)] = c.log_weight + c.log_norm - 0.5 * col.norm_squared();
        }
    }
    out
}

/// Row-wise log-sum-exp of `[n, K]`.
fn row_lse(m: &DMatrix<f64>) -> Vec<f64> {
    m.row_iter()
        .map(|r| crate::input::logsumexp(&r.iter().copied().collect::<Vec<_>>()))
        .collect()
}

/// Hard k-means assignments with farthest-point seeding (deterministic).
fn kmeans(x: &DMatrix<f64>, k: usize) -> DMatrix<f64> {
    let n = x.nrows();
    let mut centres: Vec<DVector<f64>> = vec![x.row(0).transpose()];
    while centres.len() < k {
        let far = (0..n)
            .max_by(|&a, &b| {
                let d = |i: usize| {
                    centres
                        .iter()
                        .map(|c| (x.row(i).transpose() - c).norm_squared())
                        .fold(f64::INFINITY, f64::min)
                };
                d(a).total_cmp(&d(b))
            })
            .expect("n ≥ 1");
        centres.push(x.row(far).transpose());
    }
    let mut resp = DMatrix::zeros(n, k);
    for _ in 0..10 {
        resp.fill(0.0);
        for i in 0..n {
            let xi = x.row(i).transpose();
            let best = (0..k)
                .min_by(|&a, &b| {
                    (&xi - &centres[a])
                        .norm_squared()
                        .total_cmp(&(&xi - &centres[b]).norm_squared())
                })
                .expect("k ≥ 1");
            resp[(i, best)] = 1.0;
        }
        for (j, c) in centres.iter_mut().enumerate() {
            let w: f64 = resp.column(j).sum();
            if w > 0.0 {
                *c = x.transpose() * resp.column(j) / w;
            }
        }
    }
    resp
}

impl Gmm {
    /// M-step: weights, means and regularised covariances from responsibilities `[n, K]`.
    fn m_step(&self, x: &DMatrix<f64>, resp: &DMatrix<f64>) -> Result<Vec<Component>, RejectError> {
        let (n, d) = (x.nrows(), x.ncols());
        (0..self.components)
            .map(|k| {
                let r = resp.column(k);
                let nk = r.sum() + 10.0 * f64::EPSILON;
                let mean = x.transpose() * r / nk;
                let mut diff = x.clone();
                for (i, mut row) in diff.row_iter_mut().enumerate() {
                    row -= mean.transpose();
                    row *= r[i].sqrt();
                }
                let cov = diff.transpose() * diff / nk + DMatrix::identity(d, d) * self.reg_covar;
                let chol = cov.cholesky().ok_or_else(|| RejectError::Degenerate {
                    score: "GMM",
                    message: format!("component {k}: covariance not positive definite"),
                })?;
                let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
                Ok(Component {
                    log_weight: (nk / n as f64).ln(),
                    mean,
                    chol,
                    log_norm: -0.5 * (log_det + d as f64 * (2.0 * std::f64::consts::PI).ln()),
                })
            })
            .collect()
    }
}

impl IncompetenceScore for Gmm {
    fn name(&self) -> &'static str {
        "GMM"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if self.components == 0 || self.reg_covar <= 0.0 {
            return Err(RejectError::InvalidConfig {
                score: "GMM",
                message: format!(
                    "components {} and reg_covar {} must be positive",
                    self.components, self.reg_covar
                ),
            });
        }
        let x = &data.train.features;
        if x.nrows() < self.components {
            return Err(RejectError::TooFewSamples {
                score: "GMM",
                need: self.components,
                got: x.nrows(),
            });
        }
        let mut comps = self.m_step(x, &kmeans(x, self.components))?;
        self.history.clear();
        for _ in 0..self.max_iter {
            let logp = log_densities(&comps, x);
            let lse = row_lse(&logp);
            let ll = lse.iter().sum::<f64>() / x.nrows() as f64;
            let resp = DMatrix::from_fn(x.nrows(), self.components, |i, k| {
                (logp[(i, k)] - lse[i]).exp()
            });
            let done = self.history.last().is_some_and(|prev| ll - prev < self.tol);
            self.history.push(ll);
            if done {
                break;
            }
            comps = self.m_step(x, &resp)?;
        }
        self.fitted = Some(comps);
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let comps = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("GMM"))?;
        check_finite("features", &obs.features)?;
        if obs.features.ncols() != comps[0].mean.len() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: comps[0].mean.len(),
                got: obs.features.ncols(),
            });
        }
        Ok(row_lse(&log_densities(comps, &obs.features))
            .iter()
            .map(|v| -v)
            .collect())
    }
}
