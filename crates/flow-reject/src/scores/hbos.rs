//! Histogram-based outlier score (HBOS; Goldstein & Dengel 2012; "HBOS" in arXiv 2303.09989
//! via pyod `HBOS(n_bins=10)`): per feature an equal-width histogram of the training values
//! with density `h_d(b) = count_b / (n · width_d)`; then
//! `s(f) = −Σ_d log₂(h_d(bin_d(f_d)) + α)` with `α = 0.1`.
//!
//! pyod's rules for values outside the training range, followed here: a value within
//! `tol · width` (`tol = 0.5`) of the range takes the edge bin's density, anything further the
//! feature's smallest bin density. A constant training feature gets the range `v ± 0.5`
//! (numpy's `histogram` rule), so it never divides by zero.

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_finite, check_observed};

/// Sum of negative log histogram densities, one histogram per feature.
#[derive(Clone, Debug)]
pub struct Hbos {
    /// Bins per feature.
    pub bins: usize,
    /// Density regulariser `α`.
    pub alpha: f64,
    /// Out-of-range tolerance in bin widths.
    pub tol: f64,
    fitted: Option<Vec<Histogram>>,
}

#[derive(Clone, Debug)]
struct Histogram {
    lo: f64,
    width: f64,
    density: Vec<f64>,
}

impl Histogram {
    fn fit(values: &[f64], bins: usize) -> Histogram {
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if lo == hi {
            lo -= 0.5;
            hi += 0.5;
        }
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![0usize; bins];
        for &v in values {
            counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
        }
        let n = values.len() as f64;
        Histogram {
            lo,
            width,
            density: counts.iter().map(|&c| c as f64 / (n * width)).collect(),
        }
    }

    fn density_at(&self, v: f64, tol: f64) -> f64 {
        let bins = self.density.len();
        let pos = (v - self.lo) / self.width;
        let min = || self.density.iter().copied().fold(f64::INFINITY, f64::min);
        if pos < 0.0 {
            if -pos <= tol { self.density[0] } else { min() }
        } else if pos > bins as f64 {
            if pos - bins as f64 <= tol {
                self.density[bins - 1]
            } else {
                min()
            }
        } else {
            self.density[(pos as usize).min(bins - 1)]
        }
    }
}

impl Hbos {
    /// HBOS with `bins` bins, `α = 0.1`, `tol = 0.5` (pyod defaults).
    pub fn new(bins: usize) -> Hbos {
        Hbos {
            bins,
            alpha: 0.1,
            tol: 0.5,
            fitted: None,
        }
    }
}

impl IncompetenceScore for Hbos {
    fn name(&self) -> &'static str {
        "HBOS"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if self.bins == 0 || self.alpha <= 0.0 {
            return Err(RejectError::InvalidConfig {
                score: "HBOS",
                message: format!(
                    "bins {} and alpha {} must be positive",
                    self.bins, self.alpha
                ),
            });
        }
        if data.train.is_empty() {
            return Err(RejectError::TooFewSamples {
                score: "HBOS",
                need: 1,
                got: 0,
            });
        }
        let f = &data.train.features;
        self.fitted = Some(
            f.column_iter()
                .map(|c| Histogram::fit(&c.iter().copied().collect::<Vec<_>>(), self.bins))
                .collect(),
        );
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let hists = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("HBOS"))?;
        check_finite("features", &obs.features)?;
        if obs.features.ncols() != hists.len() {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: hists.len(),
                got: obs.features.ncols(),
            });
        }
        Ok(obs
            .features
            .row_iter()
            .map(|r| {
                r.iter()
                    .zip(hists)
                    .map(|(&v, h)| -(h.density_at(v, self.tol) + self.alpha).log2())
                    .sum()
            })
            .collect())
    }
}
