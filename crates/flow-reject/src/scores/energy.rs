//! Energy score (Liu et al. 2020, arXiv 2010.03759; "Energy" in arXiv 2303.09989):
//! `s(l) = −logsumexp_c(l_c)`. Shift-equivariant: `s(l + c·1) = s(l) − c`.

use super::IncompetenceScore;
use crate::error::RejectError;
use crate::input::{FitData, Observed, check_observed, logsumexp};

/// `−log Σ_c exp(l_c)` (the free energy at temperature 1); needs no fitting.
#[derive(Clone, Copy, Debug, Default)]
pub struct Energy;

/// `−logsumexp` of every row of a logit matrix.
pub(crate) fn energy_rows(logits: &nalgebra::DMatrix<f64>) -> Vec<f64> {
    logits
        .row_iter()
        .map(|r| -logsumexp(&r.iter().copied().collect::<Vec<_>>()))
        .collect()
}

impl IncompetenceScore for Energy {
    fn name(&self) -> &'static str {
        "Energy"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        check_observed(obs, None)?;
        Ok(energy_rows(&obs.logits))
    }
}
