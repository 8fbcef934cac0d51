//! Deep k-nearest-neighbour distance (Sun et al. 2022, arXiv 2204.06507; "Deep-KNN" in arXiv
//! 2303.09989): `s(f) = ‖f̂ − t̂_(k)‖²`, the squared L2 distance from the L2-normalised
//! feature `f̂ = f/‖f‖` to its `k`-th nearest normalised training feature (the official code
//! uses faiss `IndexFlatL2` with K = 1, which returns squared distances).
//!
//! Brute force: for unit vectors `‖a − b‖² = 2 − 2 aᵀb`, so all distances of a query block
//! come from one matrix product; rounding can make a distance slightly negative, which is
//! clamped at 0.

use nalgebra::DMatrix;

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_observed};

/// Squared distance to the `k`-th nearest normalised training feature.
#[derive(Clone, Debug)]
pub struct DeepKnn {
    /// Which neighbour (1 = nearest).
    pub k: usize,
    train: Option<DMatrix<f64>>,
}

impl DeepKnn {
    /// The `k`-th neighbour distance; `k ≥ 1`.
    pub fn new(k: usize) -> DeepKnn {
        DeepKnn { k, train: None }
    }
}

/// Rows scaled to unit L2 norm; a zero row stays zero (its distance to any unit vector is 1).
pub(crate) fn normalize_rows(m: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = m.clone();
    for mut row in out.row_iter_mut() {
        let n = row.norm();
        if n > 0.0 {
            row /= n;
        }
    }
    out
}

impl IncompetenceScore for DeepKnn {
    fn name(&self) -> &'static str {
        "Deep-KNN"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if self.k == 0 {
            return Err(RejectError::InvalidConfig {
                score: "Deep-KNN",
                message: "k must be at least 1".into(),
            });
        }
        if self.k > data.train.len() {
            return Err(RejectError::TooFewSamples {
                score: "Deep-KNN",
                need: self.k,
                got: data.train.len(),
            });
        }
        self.train = Some(normalize_rows(&data.train.features));
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let train = self
            .train
            .as_ref()
            .ok_or_else(|| super::not_fitted("Deep-KNN"))?;
        check_finite_width(obs, train.ncols())?;
        let q = normalize_rows(&obs.features);
        let sq_train: Vec<f64> = train.row_iter().map(|r| r.norm_squared()).collect();
        let mut out = Vec::with_capacity(q.nrows());
        // Blocks of 256 queries bound the memory of the distance matrix.
        for start in (0..q.nrows()).step_by(256) {
            let block = q.rows(start, 256.min(q.nrows() - start));
            let dots = block * train.transpose();
            for (i, row) in block.row_iter().enumerate() {
                let qq = row.norm_squared();
                let mut d: Vec<f64> = (0..train.nrows())
                    .map(|j| (qq + sq_train[j] - 2.0 * dots[(i, j)]).max(0.0))
                    .collect();
                let (_, kth, _) = d.select_nth_unstable_by(self.k - 1, |a, b| a.total_cmp(b));
                out.push(*kth);
            }
        }
        Ok(out)
    }
}

fn check_finite_width(obs: &Observed, d: usize) -> Result<(), RejectError> {
    crate::input::check_finite("features", &obs.features)?;
    if obs.features.ncols() != d {
        return Err(RejectError::WidthMismatch {
            what: "features",
            expected: d,
            got: obs.features.ncols(),
        });
    }
    Ok(())
}
