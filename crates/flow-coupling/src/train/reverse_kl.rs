//! Reverse-KL ("energy-based", data-free) training on an unnormalised target
//! `p(x | c) ∝ exp(−E(x, c))` from flow-data:
//! `KL(q_θ ‖ p) + log Z = E_{x~q_θ}[log q_θ(x) + E(x, c)]`, estimated with reparameterised
//! flow samples. Evaluation by the reverse (Kish) ESS of the weights `w = exp(−E − log q)`.
//!
//! References: Noé et al., "Boltzmann generators", arXiv 1812.01729; Köhler et al.,
//! arXiv 2006.02425.

use flow_core::{Tensor, no_grad};
use flow_data::energy::{Energy, param};
use flow_data::metrics::reverse_ess;
use rand::Rng;

use super::{TrainError, Trainer};
use crate::flow::Flow;

/// `mean(log q(x) + E(x, c))` over `n` flow samples (reparameterised), a scalar.
///
/// # Panics
/// If the energy's dimension differs from the flow's, or the condition does not match.
pub fn reverse_kl_loss<R: Rng + ?Sized>(
    flow: &Flow,
    energy: &dyn Energy,
    c: f64,
    n: usize,
    cond: Option<&Tensor>,
    rng: &mut R,
) -> Tensor {
    assert_eq!(
        energy.dim(),
        flow_dim(flow),
        "reverse_kl_loss: energy dim {} vs flow dim",
        energy.dim()
    );
    let (x, log_q) = flow.sample_and_log_prob(n, cond, rng);
    let e = energy.energy(&x, &param(c, &x));
    log_q.add(&e).mean_all()
}

fn flow_dim(flow: &Flow) -> usize {
    crate::bijection::Bijection::dim(flow)
}

/// Log importance weights `−E(x, c) − log q(x)` of `n` flow samples (no recording).
///
/// # Panics
/// As [`reverse_kl_loss`].
pub fn log_weights<R: Rng + ?Sized>(
    flow: &Flow,
    energy: &dyn Energy,
    c: f64,
    n: usize,
    cond: Option<&Tensor>,
    rng: &mut R,
) -> Vec<f64> {
    no_grad(|| {
        let (x, log_q) = flow.sample_and_log_prob(n, cond, rng);
        energy
            .energy(&x, &param(c, &x))
            .add(&log_q)
            .neg()
            .to_vec_f64()
    })
}

/// Reverse ESS / N of `n` flow samples against the target (see
/// [`flow_data::metrics::reverse_ess`]); non-finite weights count as zero weight.
///
/// # Panics
/// As [`reverse_kl_loss`].
pub fn flow_reverse_ess<R: Rng + ?Sized>(
    flow: &Flow,
    energy: &dyn Energy,
    c: f64,
    n: usize,
    cond: Option<&Tensor>,
    rng: &mut R,
) -> f64 {
    let lw: Vec<f64> = log_weights(flow, energy, c, n, cond, rng)
        .into_iter()
        .map(|l| if l.is_nan() { f64::NEG_INFINITY } else { l })
        .collect();
    reverse_ess(&lw)
}

/// Trains by reverse KL at parameter `c` with `batch_size` flow samples per step.
///
/// # Errors
/// As [`Trainer::run`].
pub fn train_reverse_kl(
    trainer: &mut Trainer<'_>,
    energy: &dyn Energy,
    c: f64,
    batch_size: usize,
    cond: Option<&Tensor>,
) -> Result<(), TrainError> {
    trainer.run(|flow, rng| reverse_kl_loss(flow, energy, c, batch_size, cond, rng))
}
