//! `fff-egnn-boltzmann`: E(3)-FFF Boltzmann generators on DW4 and LJ13.

use std::time::Instant;

use flow_core::optim::Schedule;
use flow_core::{DType, no_grad};
use flow_data::energy::{LennardJones, MultiDoubleWell, Potential};
use flow_data::mcmc::{ReferenceTarget, generate_reference};
use flow_data::metrics::reverse_ess;
use flow_freeform::{
    EgnnConfig, FffLossConfig, FreeFormFlow, JacobianSide, Latent, TrainConfig, exact_log_prob,
};
use serde::{Deserialize, Serialize};

use super::common::{Rng, pick, train};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::plot::Histogram;

/// One particle system of [`EgnnBoltzmann`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BgPreset {
    /// The system.
    pub target: ReferenceTarget,
    /// EGNN blocks.
    pub layers: usize,
    /// EGNN hidden width.
    pub hidden: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Batch size.
    pub batch: usize,
    /// β.
    pub beta: f64,
    /// One-cycle schedule (DW4) instead of constant (LJ13).
    pub one_cycle: bool,
    /// Reference samples for training / test.
    pub train: usize,
    /// Test samples drawn by MALA (NLL uses `eval` of them).
    pub test: usize,
    /// Test points for the exact NLL.
    pub eval: usize,
    /// Flow samples for the ESS.
    pub ess: usize,
    /// The paper's E(3)-FFF NLL (bgflow convention) and whether ours is held to it.
    pub paper_nll: f64,
    /// Whether the preset is paper scale (then ours must be within 0.3 nats).
    pub compare: bool,
}

/// `fff-egnn-boltzmann`: E(3)-FFF on DW4 and LJ13 with MALA reference data.
pub struct EgnnBoltzmann;

fn bg_presets(mode: Mode) -> Vec<BgPreset> {
    let full = mode == Mode::Full;
    let dw4 = BgPreset {
        target: ReferenceTarget::Dw4,
        layers: pick(mode, 1, 4, 20),
        hidden: pick(mode, 8, 32, 64),
        steps: pick(mode, 4, 200, 50 * 390),
        batch: pick(mode, 16, 128, 256),
        beta: 10.0,
        one_cycle: true,
        train: pick(mode, 256, 10_000, 100_000),
        test: pick(mode, 64, 2000, 10_000),
        eval: pick(mode, 32, 1000, 10_000),
        ess: pick(mode, 64, 2000, 10_000),
        paper_nll: 1.68,
        compare: full,
    };
    let lj13 = BgPreset {
        target: ReferenceTarget::Lj13,
        layers: pick(mode, 1, 2, 8),
        hidden: pick(mode, 8, 32, 64),
        steps: pick(mode, 2, 40, 400 * 390),
        batch: pick(mode, 8, 64, 256),
        beta: 200.0,
        one_cycle: false,
        train: pick(mode, 256, 5000, 100_000),
        test: pick(mode, 64, 1000, 10_000),
        eval: pick(mode, 16, 200, 10_000),
        ess: pick(mode, 32, 300, 1000),
        paper_nll: -17.09,
        compare: full,
    };
    vec![dw4, lj13]
}

fn energy_of(target: ReferenceTarget) -> Box<dyn Potential> {
    match target {
        ReferenceTarget::Dw4 => Box::new(MultiDoubleWell::dw4()),
        ReferenceTarget::Lj13 => Box::new(LennardJones::lj13()),
    }
}

/// Histogram of sample energies, clipped to a window around the reference energies so that a
/// few exploding samples of an unconverged model do not flatten the plot.
fn energy_histogram(name: &str, samples: &[f64], reference: &[f64]) -> Histogram {
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

/// Minimum over batch sizes of the wall time per sample of `x = g(z)` (seconds).
fn sampling_time(model: &FreeFormFlow, max_batch: usize, rng: &mut Rng) -> f64 {
    let mut best = f64::INFINITY;
    let mut b = 1;
    while b <= max_batch {
        for _ in 0..3 {
            let t = Instant::now();
            let _ = model.sample(b, None, rng);
            best = best.min(t.elapsed().as_secs_f64() / b as f64);
        }
        b *= 10;
    }
    best
}

impl Experiment for EgnnBoltzmann {
    fn id(&self) -> &'static str {
        "fff-egnn-boltzmann"
    }
    fn paper(&self) -> PaperId {
        PaperId::FreeFormFlows
    }
    fn title(&self) -> &'static str {
        "E(3)-FFF Boltzmann generators on DW4 and LJ13"
    }
    fn claim(&self) -> &'static str {
        "E(3)-FFF (two EGNNs with a mean-free latent) reaches NLL on par with equivariant CNFs on DW4 (≈ 1.68) and LJ13 (≈ −17.09) and samples in one network pass."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&bg_presets(mode))
    }
    fn version(&self) -> u32 {
        2 // 2: energy histogram figure
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let presets: Vec<BgPreset> = ctx.preset()?;
        ctx.set_work(presets.len() as u64);
        let mut table = Table::new(
            "E(3)-FFF: exact test NLL (bgflow convention ½‖f(x)‖² + log|det J_g|, no normalising constant; test split), ESS and sampling time",
            "system, quantity",
            "ours",
        );
        let mut notes = Vec::new();
        for (i, p) in presets.iter().enumerate() {
            let (n, d) = p.target.shape();
            let name = format!("{:?}", p.target).to_uppercase();
            ctx.set_message(format!("{name}: MALA reference"));
            let reference = generate_reference(
                p.target,
                p.train + p.test,
                rand::RngExt::random::<u64>(&mut ctx.rng(100 + i as u64)),
            );
            let all = reference.samples.to_dtype(DType::F32);
            let data = all.narrow(0, 0, p.train);
            let test = all.narrow(0, p.train, p.test);
            let mut rng = ctx.rng(20 + i as u64);
            let mut cfg = EgnnConfig::new(n, d, p.layers).with_hidden(p.hidden);
            cfg.inv_sublayers = 2;
            let model = FreeFormFlow::new(
                Box::new(cfg.build("encoder", DType::F32, &mut rng)),
                Box::new(cfg.build("decoder", DType::F32, &mut rng)),
                Latent::mean_free(n, d),
            );
            let schedule = if p.one_cycle {
                Schedule::one_cycle(p.steps)
            } else {
                Schedule::Constant
            };
            let tc = TrainConfig::new(p.steps, p.batch, 1e-3)
                .with_schedule(schedule)
                .with_clip(1.0);
            ctx.set_message(format!("{name}: training"));
            let secs = train(
                ctx,
                &model,
                &data,
                None,
                FffLossConfig::new(p.beta),
                tc,
                &mut rng,
            )?;
            let eval = exact_log_prob(
                &model,
                &test.narrow(0, 0, p.eval),
                None,
                JacobianSide::Decoder,
                250,
            );
            let bg = eval.nll_bgflow(&model).mean_all().item();
            let verdict = if p.compare {
                Verdict::check(bg < p.paper_nll + 0.3)
            } else {
                Verdict::Info
            };
            table.push(
                format!("{name}: test NLL (bgflow)"),
                bg,
                format!("E(3)-FFF ≈ {} [unconfirmed]", p.paper_nll),
                verdict,
            );
            table.push(
                format!("{name}: test NLL (normalised, + ½(N−1)D log 2π)"),
                eval.mean_nll(),
                "—",
                Verdict::Info,
            );
            table.push(
                format!("{name}: reconstruction ‖x − g(f(x))‖²"),
                eval.mean_reconstruction(),
                "small",
                Verdict::Info,
            );
            // Reverse ESS: x = g(z), log q(x) = log p_Z(z) − log|det J_g(z)|.
            let z = model.latent.sample(p.ess, DType::F32, &mut rng);
            let x = no_grad(|| model.decode(&z, None));
            let jac = flow_freeform::exact::dense_jacobian(&|u| model.decode(u, None), &z, 250);
            let log_q = model
                .latent
                .log_prob(&z.to_dtype(DType::F64))
                .sub(&flow_freeform::log_volume(&jac));
            let energy = energy_of(p.target);
            let x64 = x.to_dtype(DType::F64);
            let e = energy.potential(&x64);
            let reference_energies = energy.potential(&test.to_dtype(DType::F64)).to_vec_f64();
            let plot = energy_histogram(&name, &e.to_vec_f64(), &reference_energies);
            ctx.save_figure(
                &format!("{}-energy.svg", name.to_lowercase()),
                format!("{name}: energies of FFF samples x = g(z); dashed: median energy of the MALA test set (the paper compares these histograms)."),
                |path| plot.save_svg(path),
            )?;
            let lw: Vec<f64> = e
                .neg()
                .sub(&log_q)
                .to_vec_f64()
                .into_iter()
                .map(|v| if v.is_finite() { v } else { f64::NEG_INFINITY })
                .collect();
            table.push(
                format!("{name}: reverse ESS ({} samples)", p.ess),
                reverse_ess(&lw),
                "— (paper reports ESS; value not recovered)",
                Verdict::Info,
            );
            let t = sampling_time(&model, pick_batch(p.ess), &mut rng);
            table.push(
                format!("{name}: sampling time per sample (ms)"),
                1e3 * t,
                "≈ 100× faster than CNFs [unconfirmed]",
                Verdict::Info,
            );
            table.push(
                format!("{name}: training time (s)"),
                secs,
                "—",
                Verdict::Info,
            );
            notes.push(format!("{name}: EGNN with {} blocks, hidden {}, 2 GCL sub-layers, attention, sum/100 aggregation, global skip, mean-free output; β = {}, Adam 1e-3 ({}), clip 1, batch {}, {} steps on {} MALA samples (flow-data's mean-free MALA at τ = 1); exact NLL on {} test samples. The paper uses {} blocks, hidden 64, batch 256 and {} epochs of 100k samples.", p.layers, p.hidden, p.beta, if p.one_cycle { "one-cycle" } else { "constant" }, p.batch, p.steps, p.train, p.eval, if i == 0 { 20 } else { 8 }, if i == 0 { 50 } else { 400 }));
            ctx.step()?;
        }
        if !presets.iter().any(|p| p.compare) {
            notes.push("Quick mode is scaled down by orders of magnitude (fewer and narrower EGNN blocks, a few hundred steps, tens of thousands of reference samples): its NLLs are far from converged and are not compared with the paper's; run --full for the paper-scale configuration.".into());
        }
        Ok(Outcome {
            tables: vec![table],
            figures: Vec::new(),
            notes,
        })
    }
}

fn pick_batch(n: usize) -> usize {
    if n >= 1000 { 1000 } else { 100 }
}
