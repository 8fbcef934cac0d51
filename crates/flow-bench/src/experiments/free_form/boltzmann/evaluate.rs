//! Evaluation of a trained E(3)-FFF Boltzmann generator: exact test NLL, the best scaled
//! Gaussian as a baseline, reverse ESS, sampling time and the energy histogram.

use std::time::Instant;

use flow_core::{DType, Tensor, no_grad};
use flow_data::energy::Potential;
use flow_data::metrics::reverse_ess;
use flow_freeform::{FreeFormFlow, JacobianSide, ModelSpec};

use super::validation::EXACT_CHUNK;
use crate::experiments::free_form::common::exact_parallel;

use super::BgPreset;
use crate::experiment::{Table, Verdict};
use crate::experiments::free_form::common::Rng;
use crate::plot::Histogram;

/// Histogram of sample energies, clipped to a window around the reference energies so that a
/// few exploding samples of an unconverged model do not flatten the plot.
pub(super) fn energy_histogram(name: &str, samples: &[f64], reference: &[f64]) -> Histogram {
    let mut sorted: Vec<f64> = reference
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (lo, hi, median) = (quantile(0.01), quantile(0.99), quantile(0.5));
    let width = (hi - lo).max(1e-6);
    let values = samples
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(lo - width, hi + 2.0 * width))
        .collect();
    Histogram {
        title: format!("{name}: energy of FFF samples (clipped to the reference range)"),
        x_label: "E(x) [kT]".into(),
        values,
        bins: 40,
        reference: Some((median, "MALA test median".into())),
    }
}

/// Minimum over batch sizes 10⁰ … `max_batch` (`reps` repetitions each) of the wall time per
/// sample of `x = g(z)` in seconds (the paper's protocol: up to 10⁴, 10 repetitions).
pub(super) fn sampling_time(
    model: &FreeFormFlow,
    max_batch: usize,
    reps: usize,
    rng: &mut Rng,
) -> f64 {
    let mut best = f64::INFINITY;
    let mut b = 1;
    while b <= max_batch {
        for _ in 0..reps {
            let t = Instant::now();
            let _ = model.sample(b, None, rng);
            best = best.min(t.elapsed().as_secs_f64() / b as f64);
        }
        b *= 10;
    }
    best
}

/// Test NLL (bgflow convention) of the best isotropic Gaussian flow `x = σz` on the mean-free
/// subspace of dimension `d`, with σ fitted to `train`: `σ² = E‖x‖²/d` and
/// `NLL = ½ E_test‖x‖²/σ² + (d/2) ln σ²`. What a model must beat to have learned anything
/// beyond the overall scale.
pub(super) fn scaled_gaussian_nll(train: &Tensor, test: &Tensor, d: usize) -> f64 {
    let mean_sq = |x: &Tensor| x.square().sum_per_sample().mean_all().item();
    let sigma2 = mean_sq(train) / d as f64;
    0.5 * mean_sq(test) / sigma2 + 0.5 * d as f64 * sigma2.ln()
}

/// The NLL row's band and verdict: at paper scale within `paper_band` above the paper's
/// E(3)-FFF value; scaled down, at least `baseline_margin` below the best isotropic Gaussian.
pub(super) fn nll_verdict(nll: f64, p: &BgPreset, gaussian: f64) -> (String, bool) {
    match p.paper_band {
        Some(band) => (
            format!(
                "E(3)-FFF ≈ {} [unconfirmed]: ≤ {}",
                p.paper_nll,
                p.paper_nll + band
            ),
            nll <= p.paper_nll + band,
        ),
        None => (
            format!(
                "budget band: ≤ scaled Gaussian − {} = {:.3} (paper, full mode: {})",
                p.baseline_margin,
                gaussian - p.baseline_margin,
                p.paper_nll
            ),
            nll <= gaussian - p.baseline_margin,
        ),
    }
}

/// Exact test NLL in both conventions and the reconstruction error.
pub(super) fn push_nll_rows(
    table: &mut Table,
    name: &str,
    p: &BgPreset,
    (model, spec): (&FreeFormFlow, &ModelSpec),
    test: &Tensor,
    gaussian: f64,
) {
    let eval = exact_parallel(
        model,
        spec,
        &test.narrow(0, 0, p.eval),
        None,
        JacobianSide::Decoder,
        EXACT_CHUNK,
    );
    let bg = eval.nll_bgflow(model).mean_all().item();
    let (band, ok) = nll_verdict(bg, p, gaussian);
    table.push(
        format!("{name}: test NLL (bgflow)"),
        bg,
        band,
        Verdict::check(ok),
    );
    table.push(
        format!("{name}: test NLL (normalised, + ½(N−1)D log 2π)"),
        eval.mean_nll(),
        "the NLL row in the other convention",
        Verdict::Info,
    );
    table.push(
        format!("{name}: reconstruction ‖x − g(f(x))‖²"),
        eval.mean_reconstruction(),
        "diagnostic of the decoder-side NLL",
        Verdict::Info,
    );
}

/// Reverse ESS of `count` flow samples `x = g(z)` with `log q(x) = log p_Z(z) − log|det J_g(z)|`
/// and log-weights `−E(x) − log q(x)` (non-finite weights count as zero); also returns the
/// sample energies.
pub(super) fn reverse_ess_of(
    model: &FreeFormFlow,
    energy: &dyn Potential,
    count: usize,
    rng: &mut Rng,
) -> (f64, Vec<f64>) {
    let z = model.latent.sample(count, DType::F32, rng);
    let x = no_grad(|| model.decode(&z, None));
    let jac = flow_freeform::exact::dense_jacobian(&|u| model.decode(u, None), &z, 250);
    let log_q = model
        .latent
        .log_prob(&z.to_dtype(DType::F64))
        .sub(&flow_freeform::log_volume(&jac));
    let e = energy.potential(&x.to_dtype(DType::F64));
    let lw: Vec<f64> = e
        .neg()
        .sub(&log_q)
        .to_vec_f64()
        .into_iter()
        .map(|v| if v.is_finite() { v } else { f64::NEG_INFINITY })
        .collect();
    (reverse_ess(&lw), e.to_vec_f64())
}
