//! Energy with ReAct clipping (Sun et al. 2021, arXiv 2111.12797; "Energy-React" in arXiv
//! 2303.09989): `s(f) = −logsumexp(min(f, c) Wᵀ + b)`, with `c` the `p`-quantile of all
//! training feature entries (the official code: `np.quantile(features_train, 0.99)` over the
//! flattened array, linear interpolation).

use super::IncompetenceScore;
use super::energy::energy_rows;
use crate::error::RejectError;
use crate::input::{FitData, Head, Observed, check_observed};
use crate::stats::quantile_linear;

/// Energy of the logits recomputed from features clipped at a training quantile.
#[derive(Clone, Debug)]
pub struct EnergyReact {
    /// Quantile level of the clip (0.99 in the paper).
    pub percentile: f64,
    fitted: Option<(f64, Head)>,
}

impl EnergyReact {
    /// Clips at the `percentile` quantile of the training features.
    pub fn new(percentile: f64) -> EnergyReact {
        EnergyReact {
            percentile,
            fitted: None,
        }
    }

    /// The fitted clip value `c`, if fitted.
    pub fn clip(&self) -> Option<f64> {
        self.fitted.as_ref().map(|f| f.0)
    }
}

impl IncompetenceScore for EnergyReact {
    fn name(&self) -> &'static str {
        "Energy-React"
    }
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError> {
        check_observed(data.train, None)?;
        if !(0.0..=1.0).contains(&self.percentile) {
            return Err(RejectError::InvalidConfig {
                score: "Energy-React",
                message: format!("percentile {} not in [0, 1]", self.percentile),
            });
        }
        if data.train.is_empty() {
            return Err(RejectError::TooFewSamples {
                score: "Energy-React",
                need: 1,
                got: 0,
            });
        }
        let all: Vec<f64> = data.train.features.iter().copied().collect();
        let c = quantile_linear(&all, self.percentile);
        self.fitted = Some((c, data.head.clone()));
        Ok(())
    }
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError> {
        let (c, head) = self
            .fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted("Energy-React"))?;
        check_observed(obs, Some((head.weight.ncols(), head.weight.nrows())))?;
        let clipped = obs.features.map(|v| v.min(*c));
        Ok(energy_rows(&head.logits(&clipped)))
    }
}
