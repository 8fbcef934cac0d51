//! Evaluation of a trained `q_θ(x | c)` at one parameter value: NLL and forward KL on exact
//! samples, reverse (Kish) ESS, the energy-free residual and the model self-consistency KL
//! (`trade.md` §4; `boltzmann-targets.md` §5).

use flow_core::{Tensor, no_grad};
use flow_data::metrics::reverse_ess as kish;
use rand::Rng;

use crate::family::{Family, c_vec};
use crate::flow::ParamFlow;

/// `log q_θ(x | c)` per sample, detached.
pub fn log_q(model: &ParamFlow, x: &Tensor, c: f64) -> Vec<f64> {
    no_grad(|| {
        model
            .log_prob(&x.detach(), &c_vec(c, x.dim(0), x))
            .to_vec_f64()
    })
}

/// Held-out NLL `−mean log q_θ(x | c)` on samples `x ~ p(·|c)`.
pub fn nll(model: &ParamFlow, x: &Tensor, c: f64) -> f64 {
    let lq = log_q(model, x, c);
    -lq.iter().sum::<f64>() / lq.len() as f64
}

/// Forward KL `KL(p_c ‖ q_θ(·|c)) = mean[−E(x, c) − log Z(c) − log q_θ(x|c)]` on exact samples
/// `x ~ p(·|c)` with the exact normaliser `log Z(c)`.
pub fn forward_kl(model: &ParamFlow, family: &Family, x: &Tensor, c: f64, log_z: f64) -> f64 {
    let e = no_grad(|| family.energy(x, &c_vec(c, x.dim(0), x)).to_vec_f64());
    let lq = log_q(model, x, c);
    e.iter().zip(&lq).map(|(e, q)| -e - log_z - q).sum::<f64>() / lq.len() as f64
}

/// Relative reverse (Kish) ESS of `n` flow samples at `c` against the family's energy.
pub fn reverse_ess<R: Rng + ?Sized>(
    model: &ParamFlow,
    family: &Family,
    c: f64,
    n: usize,
    rng: &mut R,
) -> f64 {
    let probe = Tensor::zeros(&[1], model.dtype());
    let cs = c_vec(c, n, &probe);
    let (x, lq) = model.sample_detached(&cs, rng);
    let e = no_grad(|| family.energy(&x, &cs).to_vec_f64());
    let lw: Vec<f64> = e.iter().zip(lq.to_vec_f64()).map(|(e, q)| -e - q).collect();
    kish(&lw)
}

/// The energy-free TRADE residual for a temperature `t` with reference `t0`: the model's own
/// energy `E_θ(x, T) = −(T₀/T) log q_θ(x | T₀)` replaces the ground truth, so
/// `A_θ = (T₀/T²) log q_θ(x | T₀)`; with flow samples at `T` the SNIS weights
/// `exp(−E_θ − log q_θ(x|T))` are used as they are. Returns the per-sample residuals
/// `∂_T log q_θ(x|T) − (Ê[A_θ] − A_θ(x))` on `n` fresh samples (no graph). Exactly zero in
/// expectation for a flow that obeys exact tempering.
pub fn energy_free_residuals<R: Rng + ?Sized>(
    model: &ParamFlow,
    t: f64,
    t0: f64,
    n: usize,
    rng: &mut R,
) -> Vec<f64> {
    let probe = Tensor::zeros(&[1], model.dtype());
    let ct = c_vec(t, n, &probe);
    let (x, lq_t) = model.sample_detached(&ct, rng);
    let lq0 = log_q(model, &x, t0);
    let a: Vec<f64> = lq0.iter().map(|l| t0 / (t * t) * l).collect();
    let lw: Vec<f64> = lq0
        .iter()
        .zip(lq_t.to_vec_f64())
        .map(|(l0, lt)| t0 / t * l0 - lt)
        .collect();
    let ex = crate::snis::snis_from_weights(&lw, &a, t, 0)
        .map(|e| e.value)
        .unwrap_or(f64::NAN);
    let g = no_grad(|| model.log_prob_and_dc(&x, &ct).1.to_vec_f64());
    g.iter().zip(&a).map(|(g, a)| g - (ex - a)).collect()
}

/// Model self-consistency KL (`repo: losses.py compute_KL`):
/// `KL(q_θ(·|T*) ‖ q_θ(·|T₀)^{T₀/T*}/Ẑ) = E_{q_θ(T*)}[log q_θ(x|T*) − (T₀/T*) log q_θ(x|T₀)] + log Ẑ`,
/// `Ẑ = mean_{x~q_θ(T₀)} exp((T₀/T* − 1) log q_θ(x|T₀))`, both from `n` samples; not clipped
/// (its Monte Carlo error is visible). Zero exactly when the model obeys exact tempering.
pub fn self_consistency_kl<R: Rng + ?Sized>(
    model: &ParamFlow,
    t_star: f64,
    t0: f64,
    n: usize,
    rng: &mut R,
) -> f64 {
    let probe = Tensor::zeros(&[1], model.dtype());
    let (xs, lq_s) = model.sample_detached(&c_vec(t_star, n, &probe), rng);
    let lq0_s = log_q(model, &xs, t0);
    let r = t0 / t_star;
    let first = lq_s
        .to_vec_f64()
        .iter()
        .zip(&lq0_s)
        .map(|(a, b)| a - r * b)
        .sum::<f64>()
        / n as f64;
    let (_, lq0) = model.sample_detached(&c_vec(t0, n, &probe), rng);
    let terms: Vec<f64> = lq0.to_vec_f64().iter().map(|l| (r - 1.0) * l).collect();
    let log_z = flow_data::energy::quadrature::log_sum_exp(&terms) - (n as f64).ln();
    first + log_z
}

/// The probability-integral transform of a reference value among model draws: the fraction
/// of `draws` below `reference` (ties count half). Uniform on [0, 1] (up to the `1/len`
/// discreteness) when the reference and the draws come from the same distribution.
pub fn pit(reference: f64, draws: &[f64]) -> f64 {
    let below = draws.iter().filter(|&&d| d < reference).count() as f64;
    let ties = draws.iter().filter(|&&d| d == reference).count() as f64;
    (below + 0.5 * ties) / draws.len() as f64
}

/// Kolmogorov–Smirnov distance `sup_u |F_N(u) − u|` of PIT values to the uniform law.
///
/// ```
/// let ks = flow_trade::metrics::ks_uniform(&[0.125, 0.375, 0.625, 0.875]);
/// assert!((ks - 0.125).abs() < 1e-12);
/// ```
pub fn ks_uniform(pits: &[f64]) -> f64 {
    let mut v = pits.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, &u)| ((i as f64 + 1.0) / n - u).max(u - i as f64 / n))
        .fold(0.0, f64::max)
}

/// Empirical coverage of central credible intervals: for each nominal level α, the fraction of
/// PIT values with `|PIT − ½| < α/2` (α for a calibrated posterior).
pub fn central_coverage(pits: &[f64], levels: &[f64]) -> Vec<f64> {
    levels
        .iter()
        .map(|a| {
            pits.iter().filter(|&&u| (u - 0.5).abs() < 0.5 * a).count() as f64 / pits.len() as f64
        })
        .collect()
}
