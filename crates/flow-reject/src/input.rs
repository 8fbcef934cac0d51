//! The inputs every score sees: penultimate-layer features, logits, and (for fitting) labels
//! and the last layer `l = W f + b`.

use nalgebra::{DMatrix, DVector};

use crate::error::RejectError;

/// The classifier's last layer: `logits = W f + b` with `W` of shape `[classes, features]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    /// `[C, D]`.
    pub weight: DMatrix<f64>,
    /// `[C]`.
    pub bias: DVector<f64>,
}

impl Head {
    /// Logits `F Wᵀ + 1 bᵀ` of a `[n, D]` feature matrix.
    ///
    /// # Panics
    /// If the feature width is not `D`.
    pub fn logits(&self, features: &DMatrix<f64>) -> DMatrix<f64> {
        assert_eq!(
            features.ncols(),
            self.weight.ncols(),
            "Head::logits: features [{}, {}] vs weight {:?}",
            features.nrows(),
            features.ncols(),
            self.weight.shape()
        );
        let mut l = features * self.weight.transpose();
        for mut row in l.row_iter_mut() {
            row += self.bias.transpose();
        }
        l
    }
}

/// Features and logits of a set of samples (one row per sample).
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// `[n, D]` penultimate-layer features.
    pub features: DMatrix<f64>,
    /// `[n, C]` logits.
    pub logits: DMatrix<f64>,
}

impl Observed {
    /// Bundles features and logits.
    ///
    /// # Panics
    /// If the row counts differ.
    pub fn new(features: DMatrix<f64>, logits: DMatrix<f64>) -> Observed {
        assert_eq!(
            features.nrows(),
            logits.nrows(),
            "Observed: {} feature rows vs {} logit rows",
            features.nrows(),
            logits.nrows()
        );
        Observed { features, logits }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Predicted class per sample (argmax of the logits; the first maximum on ties).
    pub fn predictions(&self) -> Vec<usize> {
        self.logits
            .row_iter()
            .map(|r| {
                let mut best = 0;
                for c in 1..r.len() {
                    if r[c] > r[best] {
                        best = c;
                    }
                }
                best
            })
            .collect()
    }
}

/// The in-distribution training set a score is fitted on.
#[derive(Clone, Copy, Debug)]
pub struct FitData<'a> {
    /// Features and logits of the training samples.
    pub train: &'a Observed,
    /// True labels of the training samples (`0..C`).
    pub labels: &'a [usize],
    /// The classifier's last layer (Energy-ReAct, ViM).
    pub head: &'a Head,
}

/// Errors with [`RejectError::NonFinite`] at the first NaN/infinite entry of `m`.
///
/// # Errors
/// As described.
pub fn check_finite(what: &'static str, m: &DMatrix<f64>) -> Result<(), RejectError> {
    for row in 0..m.nrows() {
        for col in 0..m.ncols() {
            if !m[(row, col)].is_finite() {
                return Err(RejectError::NonFinite { what, row, col });
            }
        }
    }
    Ok(())
}

/// Checks both matrices of `obs` and, if given, their widths against `(D, C)`.
///
/// # Errors
/// [`RejectError::NonFinite`], [`RejectError::WidthMismatch`].
pub fn check_observed(obs: &Observed, widths: Option<(usize, usize)>) -> Result<(), RejectError> {
    check_finite("features", &obs.features)?;
    check_finite("logits", &obs.logits)?;
    if let Some((d, c)) = widths {
        if obs.features.ncols() != d {
            return Err(RejectError::WidthMismatch {
                what: "features",
                expected: d,
                got: obs.features.ncols(),
            });
        }
        if obs.logits.ncols() != c {
            return Err(RejectError::WidthMismatch {
                what: "logits",
                expected: c,
                got: obs.logits.ncols(),
            });
        }
    }
    Ok(())
}

/// Numerically stable `log Σ_c exp(l_c)` of one row.
pub fn logsumexp(row: &[f64]) -> f64 {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The rows of a matrix as owned vectors (row-major copies).
pub fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}
