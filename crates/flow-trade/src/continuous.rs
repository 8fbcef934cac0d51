//! The continuous (no-grid) variant of TRADE (`trade.md` §1.3 "Continuous, train_INN path"
//! and §1.5.3; arXiv 2410.19492 §3.3): every step draws a few parameter values (c₀ always
//! among them), log-uniform on an interval that widens linearly in log space from {c₀} to
//! [c_min, c_max], and estimates `E_c[A]` afresh by SNIS at each of them.

use flow_core::Tensor;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::TradeError;
use crate::family::{Family, c_vec};
use crate::flow::ParamFlow;
use crate::loss::{residual_target, residual_terms};
use crate::snis::snis_expectation;

/// The widening c-schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Widening {
    /// Parameter values per step (c₀ included).
    pub params_per_step: usize,
    /// Fraction of the residual phase after which the interval starts to widen.
    pub widen_start: f64,
    /// Fraction of the residual phase at which it covers [c_min, c_max].
    pub widen_full: f64,
}

impl Widening {
    /// The current interval `(lo, hi)` at `progress ∈ [0, 1]`: log-linear between `{c₀}`
    /// and `[c_min, c_max]`.
    ///
    /// ```
    /// use flow_trade::continuous::Widening;
    /// let w = Widening { params_per_step: 5, widen_start: 0.0, widen_full: 0.5 };
    /// assert_eq!(w.interval(1.0, (0.5, 2.0), 0.0), (1.0, 1.0));
    /// let (lo, hi) = w.interval(1.0, (0.5, 2.0), 0.25);
    /// assert!((lo - 0.5f64.sqrt()).abs() < 1e-12 && (hi - 2f64.sqrt()).abs() < 1e-12);
    /// ```
    pub fn interval(&self, c0: f64, (c_min, c_max): (f64, f64), progress: f64) -> (f64, f64) {
        let span = (self.widen_full - self.widen_start).max(1e-12);
        let w = ((progress - self.widen_start) / span).clamp(0.0, 1.0);
        let l0 = c0.ln();
        (
            (l0 + w * (c_min.ln() - l0)).exp(),
            (l0 + w * (c_max.ln() - l0)).exp(),
        )
    }

    /// `params_per_step` values: c₀ first, the rest log-uniform on the current interval.
    pub fn draw<R: Rng + ?Sized>(
        &self,
        c0: f64,
        range: (f64, f64),
        progress: f64,
        rng: &mut R,
    ) -> Vec<f64> {
        let (lo, hi) = self.interval(c0, range, progress);
        let mut cs = vec![c0];
        cs.extend(
            (1..self.params_per_step.max(1))
                .map(|_| (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp()),
        );
        cs
    }
}

/// The mean residual loss of one continuous step: for each drawn `c`, a fresh SNIS estimate of
/// `E_c[A]` from `snis_samples` flow samples and `points` evaluation points `x ~ q_θ(·|c)`.
///
/// # Errors
/// [`TradeError::NonFinite`] with the offending `c` if an energy, weight or target is not
/// finite.
#[allow(clippy::too_many_arguments)]
pub fn continuous_residual<R: Rng + ?Sized>(
    model: &ParamFlow,
    family: &Family,
    cs: &[f64],
    points: usize,
    snis_samples: usize,
    delta: f64,
    step: u64,
    rng: &mut R,
) -> Result<Tensor, TradeError> {
    let probe = Tensor::zeros(&[1], model.dtype());
    let mut total: Option<Tensor> = None;
    for &c in cs {
        let ex = snis_expectation(model, family, c, snis_samples, step, rng)?.value;
        let cv = c_vec(c, points, &probe);
        let (x, _) = model.sample_detached(&cv, rng);
        let target = residual_target(family, &x, &cv, &c_vec(ex, points, &probe));
        if target.to_vec_f64().iter().any(|v| !v.is_finite()) {
            return Err(TradeError::NonFinite {
                what: "residual target",
                c,
                step,
            });
        }
        let m = residual_terms(model, &x, &cv, &target, delta).mean_all();
        total = Some(match total {
            None => m,
            Some(t) => t.add(&m),
        });
    }
    Ok(total
        .expect("continuous_residual: at least one c")
        .mul_scalar(1.0 / cs.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Fully widened, log c is uniform on [log c_min, log c_max]: the mean of log c over 20k
    /// draws is within 5 standard errors of the midpoint; before widening all values are c₀.
    #[test]
    fn widened_draws_are_log_uniform_and_start_at_c0() {
        let w = Widening {
            params_per_step: 20_001,
            widen_start: 0.1,
            widen_full: 0.6,
        };
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(4);
        let cs = w.draw(1.0, (0.4, 1.1), 0.9, &mut rng);
        assert_eq!(cs[0], 1.0);
        let logs: Vec<f64> = cs[1..].iter().map(|c| c.ln()).collect();
        let (a, b) = (0.4f64.ln(), 1.1f64.ln());
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let se = (b - a) / 12f64.sqrt() / (logs.len() as f64).sqrt();
        assert!((mean - 0.5 * (a + b)).abs() < 5.0 * se, "mean log c {mean}");
        assert!(logs.iter().all(|l| (a..=b).contains(l)));
        let early = w.draw(1.0, (0.4, 1.1), 0.05, &mut rng);
        assert!(early.iter().all(|&c| (c - 1.0).abs() < 1e-12));
    }
}
