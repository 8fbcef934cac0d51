//! Maximum softmax probability (Hendrycks & Gimpel 2017, arXiv 1610.02136; used as "Softmax"
//! in arXiv 2303.09989): `s(l) = −max_c softmax(l)_c`.

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_observed, logsumexp};

/// `−max_c exp(l_c − logsumexp(l))`; needs no fitting. Equal logits over `C` classes give
/// `−1/C`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax;

impl IncompetenceScore for Softmax {
    fn name(&self) -> &'static str {
        "Softmax"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        check_observed(obs, None)?;
        Ok(obs
            .logits
            .row_iter()
            .map(|r| {
                let r: Vec<f64> = r.iter().copied().collect();
                let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                -(m - logsumexp(&r)).exp()
            })
            .collect())
    }
}
