//! `fff-egnn-boltzmann`: E(3)-FFF Boltzmann generators on DW4 and LJ13.

mod evaluate;
mod validation;

use std::time::Instant;

use flow_core::DType;
use flow_core::optim::Schedule;
use flow_data::mcmc::{ReferenceTarget, generate_reference};
use flow_freeform::{
    EgnnConfig, FffLossConfig, FreeFormFlow, Latent, ModelSpec, NetConfig, TrainConfig,
};
use serde::{Deserialize, Serialize};

use super::common::pick;
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::validate::{PresetError, not_above};
use evaluate::{
    energy_histogram, push_nll_rows, reverse_ess_of, sampling_time, scaled_gaussian_nll,
};
use validation::{curve_plot, train_with_validation};

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
    /// Adam learning rate.
    pub lr: f64,
    /// Gradient-norm clipping threshold.
    pub clip: f64,
    /// β.
    pub beta: f64,
    /// One-cycle schedule (DW4) instead of constant (LJ13).
    pub one_cycle: bool,
    /// Reference samples for training / test.
    pub train: usize,
    /// Test samples drawn by MALA (NLL uses `eval` of them).
    pub test: usize,
    /// Validation samples (separate from train and test) for the NLL curve.
    pub val: usize,
    /// Validation measurements during training; the best one's parameters are kept.
    pub evals: usize,
    /// Test points for the exact NLL.
    pub eval: usize,
    /// Flow samples for the ESS.
    pub ess: usize,
    /// Largest batch (a power of 10) and repetitions of the sampling-time measurement (the
    /// paper: 10⁴ and 10).
    pub timing_batch: usize,
    /// Repetitions per batch size of the sampling-time measurement.
    pub timing_reps: usize,
    /// The paper's E(3)-FFF NLL (bgflow convention).
    pub paper_nll: f64,
    /// At paper scale, the band above the paper's NLL that ours must reach (nats); `None` for
    /// the scaled-down presets, which are judged against the baseline instead.
    pub paper_band: Option<f64>,
    /// For the scaled-down presets: how far (nats) below the best isotropic Gaussian `x = σz`
    /// the test NLL must be, i.e. the model must have learned structure beyond the scale (the
    /// budget band; the paper's NLL needs the full budget, docs/LONG_RUNS.md).
    pub baseline_margin: f64,
}

/// `fff-egnn-boltzmann`: E(3)-FFF on DW4 and LJ13 with MALA reference data.
pub struct EgnnBoltzmann;

/// Steps per epoch of the paper's runs: 100k training samples at batch 256.
const PAPER_STEPS_PER_EPOCH: u64 = 100_000 / 256;

/// Quick mode is a budget run (a 4-block DW4 model and a 2-block LJ13 model at batch 32, a
/// few hundred to 1500 steps): it stops on the steep part of the curves, far above the
/// paper's NLLs (longer CPU runs reach them, docs/LONG_RUNS.md), and is judged against the
/// best isotropic Gaussian instead. Full mode is the paper's configuration
/// (`free-form-flows.md` §2.3: DW4 20 blocks, batch 256, 50 epochs, one-cycle; LJ13 8 blocks,
/// batch 256, 400 epochs, constant LR; hidden 64, Adam 1e-3, clip 1).
fn bg_presets(mode: Mode) -> Vec<BgPreset> {
    let paper_band = (mode == Mode::Full).then_some(0.3);
    let dw4 = BgPreset {
        target: ReferenceTarget::Dw4,
        layers: pick(mode, 1, 4, 20),
        hidden: pick(mode, 8, 32, 64),
        steps: pick(mode, 4, 1500, 50 * PAPER_STEPS_PER_EPOCH),
        batch: pick(mode, 16, 64, 256),
        lr: 1e-3,
        clip: 1.0,
        beta: 10.0,
        one_cycle: true,
        train: pick(mode, 256, 10_000, 100_000),
        test: pick(mode, 64, 1000, 10_000),
        val: pick(mode, 16, 200, 2000),
        evals: pick(mode, 2, 10, 20),
        eval: pick(mode, 32, 1000, 10_000),
        ess: pick(mode, 64, 2000, 10_000),
        timing_batch: pick(mode, 10, 1000, 10_000),
        timing_reps: pick(mode, 1, 3, 10),
        paper_nll: 1.68,
        paper_band,
        baseline_margin: pick(mode, 0.0, 0.5, 0.5),
    };
    let lj13 = BgPreset {
        target: ReferenceTarget::Lj13OrderedPairs,
        layers: pick(mode, 1, 2, 8),
        hidden: pick(mode, 8, 32, 64),
        steps: pick(mode, 2, 600, 400 * PAPER_STEPS_PER_EPOCH),
        batch: pick(mode, 8, 32, 256),
        lr: 1e-3,
        clip: 1.0,
        beta: 200.0,
        one_cycle: false,
        train: pick(mode, 256, 5000, 100_000),
        test: pick(mode, 64, 500, 10_000),
        val: pick(mode, 8, 50, 1000),
        evals: pick(mode, 2, 4, 20),
        eval: pick(mode, 16, 100, 10_000),
        ess: pick(mode, 32, 200, 1000),
        timing_batch: pick(mode, 10, 100, 10_000),
        timing_reps: pick(mode, 1, 3, 10),
        paper_nll: -17.09,
        paper_band,
        baseline_margin: pick(mode, 0.0, 0.5, 0.5),
    };
    vec![dw4, lj13]
}

impl Experiment for EgnnBoltzmann {
    /// The exact NLL uses the first `eval` of the `test` samples.
    fn check_preset(&self, preset: &serde_json::Value) -> Result<(), PresetError> {
        let systems = preset.as_array().map_or(0, Vec::len);
        (0..systems).try_for_each(|i| {
            not_above(
                self.id(),
                preset,
                &format!("/{i}/eval"),
                &format!("/{i}/test"),
            )
        })
    }
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
        9 // 9: judged in quick mode against the scaled-Gaussian baseline, quick DW4 4 blocks and LJ13 batch 32, lr and clip in the preset; 8: quick DW4 1500 and LJ13 600 steps (the whole quick report must stay under 10 min with four more papers); 7: the workspace training engine (per-step random streams, bit-identical resume); 6: LJ13 data sampled with the ordered-pair energy of the paper's data, quick LJ13 800 steps at batch 64; 2: energy histogram figure; 3: dense message passing, retuned quick steps, paper-scale full preset, phase timings; 4: DW4 quick 8 blocks × 2000 steps; 5: validation curve with best-checkpoint selection, scaled-Gaussian baseline
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let presets: Vec<BgPreset> = ctx.preset()?;
        ctx.set_work(presets.len() as u64);
        let mut table = Table::new(
            "E(3)-FFF: exact test NLL (bgflow convention ½‖f(x)‖² + log|det J_g|, no normalising constant; test split), ESS and sampling time",
            "system, quantity",
            "ours",
        );
        let mut curves = Table::new(
            "Validation NLL (bgflow convention) during training, the data of the validation figures",
            "system, step",
            "NLL",
        );
        let mut notes = Vec::new();
        for (i, p) in presets.iter().enumerate() {
            notes.push(run_system(ctx, i as u64, p, &mut table, &mut curves)?);
            ctx.step()?;
        }
        for p in &presets {
            notes.push(match p.paper_band {
                Some(band) => format!("{}: the test NLL (bgflow convention) must be within {band} nats above the paper's {}.", p.target.label(), p.paper_nll),
                None => format!("{}: this preset is scaled down from the paper's ({} blocks, hidden {}, batch {}, {} steps); its NLL is not converged and is not held to the paper's {}. Band: it must lie at least {} nats below the best isotropic Gaussian x = σz fitted to the training data (the model has learned structure beyond the scale). `--full` is the paper's configuration and is held to the paper's value; docs/LONG_RUNS.md has longer CPU runs between the two.", p.target.label(), p.layers, p.hidden, p.batch, p.steps, p.paper_nll, p.baseline_margin),
            });
        }
        Ok(Outcome {
            tables: vec![table, curves],
            figures: Vec::new(),
            notes,
        })
    }
}

/// Reference data, training and evaluation of one system; pushes its rows, returns its note.
fn run_system(
    ctx: &mut RunContext,
    i: u64,
    p: &BgPreset,
    table: &mut Table,
    curves: &mut Table,
) -> Result<String, ExperimentError> {
    let (n, d) = p.target.shape();
    let name = p.target.label();
    ctx.set_message(format!("{name}: MALA reference"));
    let t_ref = Instant::now();
    let seed = rand::RngExt::random::<u64>(&mut ctx.rng(100 + i));
    let reference = generate_reference(p.target, p.train + p.val + p.test, seed);
    let all = reference.samples.to_dtype(DType::F32);
    let data = all.narrow(0, 0, p.train);
    let val = all.narrow(0, p.train, p.val);
    let test = all.narrow(0, p.train + p.val, p.test);
    let t_ref = t_ref.elapsed().as_secs_f64();
    let mut rng = ctx.rng(20 + i);
    let cfg = EgnnConfig::new(n, d, p.layers).with_hidden(p.hidden);
    let model = FreeFormFlow::new(
        Box::new(cfg.build("encoder", DType::F32, &mut rng)),
        Box::new(cfg.build("decoder", DType::F32, &mut rng)),
        Latent::mean_free(n, d),
    );
    // What rebuilds the model on the exact-likelihood threads (the weights are copied in).
    let spec = ModelSpec {
        net: NetConfig::Egnn(cfg),
        latent: Latent::mean_free(n, d),
        dtype: DType::F32,
        seed: 0,
    };
    let schedule = if p.one_cycle {
        Schedule::one_cycle(p.steps)
    } else {
        Schedule::Constant
    };
    let tc = TrainConfig::new(p.steps, p.batch, p.lr)
        .with_schedule(schedule)
        .with_clip(p.clip);
    ctx.set_message(format!("{name}: training"));
    let loss = FffLossConfig::new(p.beta);
    let curve = train_with_validation(
        ctx,
        p.target.name(),
        (&model, &spec),
        &data,
        &val,
        p.evals,
        loss,
        tc,
        &mut rng,
    )?;
    let secs = curve.train_seconds;
    ctx.set_message(format!("{name}: evaluation"));
    let t_eval = Instant::now();
    let gaussian = scaled_gaussian_nll(&data, &test.narrow(0, 0, p.eval), (n - 1) * d);
    push_nll_rows(table, name, p, (&model, &spec), &test, gaussian);
    table.push(
        format!("{name}: test NLL of the best scaled Gaussian (baseline)"),
        gaussian,
        "the baseline of the NLL row",
        Verdict::Info,
    );
    table.push(
        format!("{name}: step of the kept (best-validation) parameters"),
        curve.best_step as f64,
        format!("{} steps in all (training diagnostic)", p.steps),
        Verdict::Info,
    );
    for (step, nll) in curve.steps.iter().zip(&curve.nll) {
        curves.push(
            format!("{name}, step {step}"),
            *nll,
            "curve of the figure",
            Verdict::Info,
        );
    }
    let plot = curve_plot(name, &curve, p.paper_nll, gaussian);
    ctx.save_figure(
        &format!("{}-validation.svg", p.target.name()),
        format!("{name}: exact NLL (bgflow convention) of {} validation samples during training; dashed: the paper's E(3)-FFF value and the best isotropic Gaussian x = σz. The parameters of the lowest point are the ones evaluated.", p.val),
        |path| plot.save_svg(path),
    )?;
    let energy = p.target.potential();
    let reference_energies = energy.potential(&test.to_dtype(DType::F64)).to_vec_f64();
    let (ess, sample_energies) = reverse_ess_of(&model, energy.as_ref(), p.ess, &mut rng);
    let plot = energy_histogram(name, &sample_energies, &reference_energies);
    ctx.save_figure(
        &format!("{}-energy.svg", p.target.name()),
        format!("{name}: energies of FFF samples x = g(z); dashed: median energy of the MALA test set (the paper compares these histograms)."),
        |path| plot.save_svg(path),
    )?;
    table.push(
        format!("{name}: reverse ESS ({} samples)", p.ess),
        ess,
        "— (paper reports ESS; value not recovered)",
        Verdict::Info,
    );
    let t = sampling_time(&model, p.timing_batch, p.timing_reps, &mut rng);
    table.push(
        format!("{name}: sampling time per sample (ms)"),
        1e3 * t,
        "≈ 100× faster than CNFs [unconfirmed]",
        Verdict::Info,
    );
    table.push(
        format!("{name}: training time (s)"),
        secs,
        "timing, no claim",
        Verdict::Info,
    );
    let t_eval = t_eval.elapsed().as_secs_f64();
    let paper = if p.target == ReferenceTarget::Dw4 {
        (20, 50)
    } else {
        (8, 400)
    };
    Ok(format!(
        "{name}: EGNN with {} blocks, hidden {}, 2 GCL sub-layers, attention, sum/100 aggregation, global skip, mean-free output, dense message passing (N−1 neighbours per node); β = {}, Adam {} ({}), clip {}, batch {}, {} steps on {} MALA samples (flow-data's mean-free MALA at τ = 1), validation NLL on {} further samples every {} steps; exact NLL on {} test samples; sampling time = min over batch sizes 1…{} ({} repetitions). Wall time: reference sampling {t_ref:.1} s, training {secs:.1} s ({:.0} ms/step, validation excluded), evaluation {t_eval:.1} s{}. The paper uses {} blocks, hidden 64, batch 256 and {} epochs of 100k samples.{}",
        p.layers,
        p.hidden,
        p.beta,
        p.lr,
        if p.one_cycle { "one-cycle" } else { "constant" },
        p.clip,
        p.batch,
        p.steps,
        p.train,
        p.val,
        (p.steps / p.evals.max(1) as u64).max(1),
        p.eval,
        p.timing_batch,
        p.timing_reps,
        1e3 * secs / p.steps.max(1) as f64,
        if curve.resumed > 0 {
            format!(
                " (training resumed {} time(s) from its checkpoint)",
                curve.resumed
            )
        } else {
            String::new()
        },
        paper.0,
        paper.1,
        energy_note(p.target)
    ))
}

/// Which energy the reference data follow, where it matters for comparing with the paper.
fn energy_note(target: ReferenceTarget) -> &'static str {
    match target {
        ReferenceTarget::Lj13OrderedPairs => {
            " Energy: the LJ pair sum over ordered pairs (twice bgflow's), as in the equivariant-flow-matching LJ13 data the paper trains on (DEM's LennardJonesPotential keeps the ordered sum to match eq-fm and halves it for EACF). On bgflow's energy the samples are far more spread out and the paper's NLL is out of reach (docs/LONG_RUNS.md)."
        }
        ReferenceTarget::Lj13 => {
            " Energy: bgflow's LJ (pairs i<j); the paper's LJ13 data follow the ordered-pair energy (`Lj13OrderedPairs`), so its NLL does not apply here."
        }
        ReferenceTarget::Dw4 => "",
    }
}
