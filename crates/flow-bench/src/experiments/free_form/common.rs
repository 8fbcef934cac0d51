//! Helpers shared by the free-form experiments: the ResNet sizes and model, training with the
//! run's cancellation, per-mode preset values, verdicts and 2-D scatter plots.

use flow_core::{DType, Tensor};
use flow_freeform::{FffLossConfig, FreeFormFlow, Latent, ResNetConfig, TrainConfig, Trainer};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{ExperimentError, Mode, Verdict};
use crate::plot::{ScatterPlot, Series};

pub(super) type Rng = Xoshiro256PlusPlus;

/// Network and optimisation sizes shared by the ResNet experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetPreset {
    /// Hidden widths of each residual block.
    pub hidden: Vec<usize>,
    /// Residual blocks.
    pub blocks: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Batch size.
    pub batch: usize,
    /// Adam learning rate (cosine-annealed to 0 except where noted).
    pub lr: f64,
    /// Reconstruction weight β.
    pub beta: f64,
}

/// A checked verdict at paper scale, informational for the scaled-down presets.
pub(super) fn verdict(compare: bool, ok: bool) -> Verdict {
    if compare {
        Verdict::check(ok)
    } else {
        Verdict::Info
    }
}

pub(super) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

pub(super) fn resnet_model(
    data: usize,
    latent: Latent,
    cond: usize,
    p: &NetPreset,
    rng: &mut Rng,
) -> FreeFormFlow {
    let cfg = ResNetConfig::new(data, latent.dim(), &p.hidden, p.blocks).with_condition(cond);
    resnet_pair(cfg, latent, rng)
}

/// The encoder/decoder pair of a ResNet configuration, in f32.
pub(super) fn resnet_pair(cfg: ResNetConfig, latent: Latent, rng: &mut Rng) -> FreeFormFlow {
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("encoder", DType::F32, rng)),
        Box::new(cfg.build_decoder("decoder", DType::F32, rng)),
        latent,
    )
}

/// Trains with the context's cancellation; returns the training wall time in seconds (summed
/// over resumed segments).
///
/// Resumable: with a work folder, the training state (parameters, Adam, step, seconds) is
/// written to `<label>-train.safetensors` ten times per run (at most every 1000 steps) and
/// after the last step; a rerun continues from it, and a finished one is not retrained. The
/// minibatches come from a stream seeded by one draw of `rng` (reseeded with the step on
/// resume), so the caller's `rng` advances the same way whether or not training resumed.
#[allow(clippy::too_many_arguments)]
pub(super) fn train(
    ctx: &RunContext,
    label: &str,
    model: &FreeFormFlow,
    data: &Tensor,
    cond: Option<&Tensor>,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
) -> Result<f64, ExperimentError> {
    let mut train_rng = Rng::seed_from_u64(rng.random::<u64>());
    let path = ctx
        .work_dir()?
        .map(|dir| dir.join(format!("{label}-train.safetensors")));
    let cfg = match &path {
        Some(p) => {
            let every = (cfg.steps / 10).clamp(1, 1000);
            cfg.with_checkpoint(p, every)
        }
        None => cfg,
    };
    let mut trainer = Trainer::new(loss, cfg);
    if let Some(p) = path.as_ref().filter(|p| p.is_file()) {
        let step = trainer.resume(model, p).map_err(|e| {
            ExperimentError::Failed(format!(
                "resuming from {}: {e} (rerun with --redo to start afresh)",
                p.display()
            ))
        })?;
        train_rng = Rng::seed_from_u64(train_rng.random::<u64>() ^ step);
    }
    let report = trainer
        .fit(model, data, cond, &mut train_rng, |_, _| {
            ctx.check_cancelled().is_ok()
        })
        .map_err(|e| ExperimentError::Failed(e.to_string()))?;
    ctx.check_cancelled()?;
    Ok(report.seconds + report.earlier_seconds)
}

pub(super) fn series(label: &str, x: &Tensor, color: usize) -> Series {
    let v = x.to_vec_f64();
    Series::solid(label, v.chunks(2).map(|p| (p[0], p[1])).collect(), color)
}

pub(super) fn scatter(title: &str, range: f64, groups: Vec<Series>) -> ScatterPlot {
    ScatterPlot {
        title: title.into(),
        x_label: "x₁".into(),
        y_label: "x₂".into(),
        x_range: (-range, range),
        y_range: (-range, range),
        groups,
        radius: 1,
    }
}
