//! Helpers shared by the free-form experiments: the ResNet sizes and model, per-mode preset
//! values, verdicts and 2-D scatter plots (training lives in `training.rs`).

use flow_core::{DType, Tensor};
use flow_freeform::{FreeFormFlow, Latent, ResNetConfig};
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::experiment::Mode;
use crate::plot::{ScatterPlot, Series};

pub(crate) type Rng = Xoshiro256PlusPlus;

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

pub(crate) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

pub(crate) fn resnet_model(
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
pub(crate) fn resnet_pair(cfg: ResNetConfig, latent: Latent, rng: &mut Rng) -> FreeFormFlow {
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("encoder", DType::F32, rng)),
        Box::new(cfg.build_decoder("decoder", DType::F32, rng)),
        latent,
    )
}

pub(crate) fn series(label: &str, x: &Tensor, color: usize) -> Series {
    let v = x.to_vec_f64();
    Series::solid(label, v.chunks(2).map(|p| (p[0], p[1])).collect(), color)
}

pub(crate) fn scatter(title: &str, range: f64, groups: Vec<Series>) -> ScatterPlot {
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
