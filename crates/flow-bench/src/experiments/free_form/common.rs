//! Helpers shared by the free-form experiments: the ResNet sizes and model, per-mode preset
//! values, verdicts and 2-D scatter plots (training lives in `training.rs`).

use flow_core::{DType, Tensor};
use flow_freeform::{
    ExactEval, FreeFormFlow, JacobianSide, Latent, ModelSpec, NetConfig, ResNetConfig, SharedModel,
};
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
    resnet_pair(resnet_config(data, latent, cond, p), latent, rng)
}

/// The ResNet configuration of [`resnet_model`].
pub(crate) fn resnet_config(
    data: usize,
    latent: Latent,
    cond: usize,
    p: &NetPreset,
) -> ResNetConfig {
    ResNetConfig::new(data, latent.dim(), &p.hidden, p.blocks).with_condition(cond)
}

/// The encoder/decoder pair of a ResNet configuration, in f32, with the parameter names of
/// [`ModelSpec::build`] (so a [`SharedModel`] can rebuild it on other threads).
pub(crate) fn resnet_pair(cfg: ResNetConfig, latent: Latent, rng: &mut Rng) -> FreeFormFlow {
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F32, rng)),
        Box::new(cfg.build_decoder("dec", DType::F32, rng)),
        latent,
    )
}

/// The [`ModelSpec`] of a [`resnet_pair`] (its seed is never used: a [`SharedModel`] restores
/// the trained weights).
pub(crate) fn resnet_spec(cfg: ResNetConfig, latent: Latent) -> ModelSpec {
    ModelSpec {
        net: NetConfig::ResNet(cfg),
        latent,
        dtype: DType::F32,
        seed: 0,
    }
}

/// [`flow_freeform::exact_log_prob`] of `model` (built as `spec` describes) with its chunks of
/// `chunk` rows on the `flow_core::parallel` threads; chunk by chunk equal to the serial call
/// with the same `chunk`, so bit-identical at any thread count.
pub(crate) fn exact_parallel(
    model: &FreeFormFlow,
    spec: &ModelSpec,
    x: &Tensor,
    condition: Option<&Tensor>,
    side: JacobianSide,
    chunk: usize,
) -> ExactEval {
    SharedModel::new(model, spec).exact_log_prob(x, condition, side, chunk)
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
