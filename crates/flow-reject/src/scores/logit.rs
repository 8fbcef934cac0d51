//! Maximum logit (Hendrycks et al. 2022, arXiv 1911.11132; "Logit" in arXiv 2303.09989):
//! `s(l) = −max_c l_c`.

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_observed};

/// `−max_c l_c`; needs no fitting.
#[derive(Clone, Copy, Debug, Default)]
pub struct MaxLogit;

impl IncompetenceScore for MaxLogit {
    fn name(&self) -> &'static str {
        "MaxLogit"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        check_observed(obs, None)?;
        Ok(obs.logits.row_iter().map(|r| -r.max()).collect())
    }
}
