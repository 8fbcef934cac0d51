//! Helpers of the M-FFF experiments: model construction, equal-area sphere grids (which double
//! as quadrature rules) and sphere map figures.

use std::f64::consts::PI;

use flow_core::nn::Activation;
use flow_core::optim::MomentumCycle;
use flow_core::{DType, Tensor};
use flow_freeform::ResNetConfig;
use flow_manifold::{
    BaseSpec, ManifoldExact, ManifoldFlow, ManifoldSpec, ModelSpec, SharedFlow, Side, TangentScale,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{ExperimentError, Mode};
use crate::plot::{Heatmap, ScatterPlot, Series};

pub(super) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

/// Network and optimisation sizes of one M-FFF run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetPreset {
    /// Hidden widths of each residual block.
    pub hidden: Vec<usize>,
    /// Residual blocks.
    pub blocks: usize,
    /// Block activation.
    pub activation: Activation,
    /// Optimiser steps.
    pub steps: u64,
    /// Minibatch size.
    pub batch: usize,
    /// Peak learning rate (one-cycle) or initial rate (exponential).
    pub lr: f64,
    /// Adam weight decay.
    pub weight_decay: f64,
    /// One-cycle final divisor: the rate ends at `lr / (25 · final_div_factor)` (PyTorch's
    /// `OneCycleLR`; its default 1e4, the official Earth configs 100). One-cycle only.
    pub final_div_factor: f64,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// Adam's β₁: cycled from `max` down to `base` over the one-cycle warm-up and back
    /// (PyTorch's `OneCycleLR` defaults 0.85–0.95, on in every official `onecyclelr` config:
    /// the Earth configs set them explicitly, RNA and the Poincaré toys inherit them), or
    /// constant when `base = max` ([`CONSTANT_BETA1`]: Adam's default 0.9 throughout).
    pub momentum: MomentumCycle,
    /// Gradient-norm clipping threshold (`gradient_clip` of the official configs: 10 for
    /// Earth, 1 for SO(3), absent, i.e. no clipping, for RNA and the Poincaré toys, whose
    /// `lightning_trainable` default is None); None: no clipping.
    pub clip_grad_norm: Option<f64>,
    /// Parameter and data dtype of training (the official code runs in f32; the exact
    /// likelihood is accumulated in f64 either way).
    pub dtype: DType,
}

/// The learning-rate schedule of an M-FFF run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// PyTorch's `OneCycleLR`: 30 % warm-up from `lr/25`, cosine annealing to
    /// `lr/(25·final_div_factor)` (the official `onecyclelr` configs).
    OneCycle,
    /// `ExponentialLR` stepped every optimiser step: `lr·γ^t` (the official SO(3) config,
    /// γ = 0.99999).
    Exponential {
        /// Decay per step.
        gamma: f64,
    },
}

/// The schedule, clipping and dtype most official configs use (one-cycle, clip 10 as the
/// Earth configs, f64 here).
pub(super) const ONE_CYCLE_CLIP_10_F64: (LrSchedule, Option<f64>, DType) =
    (LrSchedule::OneCycle, Some(10.0), DType::F64);

/// Adam's default β₁ = 0.9 throughout (no momentum cycling).
pub(super) const CONSTANT_BETA1: MomentumCycle = MomentumCycle {
    base: 0.9,
    max: 0.9,
};

/// PyTorch's default one-cycle final divisor, used where the official config does not set one.
pub(super) const TORCH_FINAL_DIV: f64 = 1e4;

/// Rows per chunk of the exact likelihood: chunks run on `flow_core::parallel` threads, so a
/// chunk well below the test-set sizes lets both cores work.
pub(super) const EXACT_CHUNK: usize = 256;

/// An M-FFF model with the spec of its architecture, so its exact likelihood can run on
/// several threads ([`SharedFlow`]); derefs to the [`ManifoldFlow`].
pub(super) struct Model {
    flow: ManifoldFlow,
    spec: ModelSpec,
}

impl std::ops::Deref for Model {
    type Target = ManifoldFlow;
    fn deref(&self) -> &ManifoldFlow {
        &self.flow
    }
}

impl Model {
    /// The exact log-density ([`SharedFlow::exact_log_prob`], chunks of [`EXACT_CHUNK`] rows
    /// on the compute threads), its tangent-basis seed drawn from `rng`: the same numbers for
    /// any thread count.
    pub(super) fn exact(&self, x: &Tensor, side: Side, rng: &mut dyn Rng) -> ManifoldExact {
        SharedFlow::new(&self.flow, &self.spec).exact_log_prob(x, side, EXACT_CHUNK, rng.next_u64())
    }

    /// The dtype of the parameters (data must be cast to it).
    pub(super) fn dtype(&self) -> DType {
        self.spec.dtype
    }
}

/// An M-FFF model with ResNet encoder and decoder in the ambient space, parameters drawn from
/// `rng` (base, then encoder, then decoder).
pub(super) fn build_flow(
    manifold: ManifoldSpec,
    net: &NetPreset,
    base: BaseSpec,
    rng: &mut dyn Rng,
) -> Model {
    let m = manifold.build().ambient_dim();
    let spec = ModelSpec {
        manifold,
        net: ResNetConfig::new(m, m, &net.hidden, net.blocks).with_activation(net.activation),
        base,
        dtype: net.dtype,
        seed: 0,
    };
    let flow = spec
        .build_with(rng)
        .unwrap_or_else(|e| panic!("build_flow: {spec:?}: {e}"));
    Model { flow, spec }
}

/// The midpoint grid of the equal-area (Lambert cylindrical) map, `(λ, sin φ)` in
/// `(−π, π) × (−1, 1)`, row-major with y outermost: `[nx·ny, 3]` points. The area element of
/// the map is `dλ d(sin φ)`, so every cell has area `(2π/nx)(2/ny)`.
pub(super) fn equal_area_grid(nx: usize, ny: usize) -> (Tensor, f64) {
    let mut v = Vec::with_capacity(3 * nx * ny);
    for j in 0..ny {
        let s = -1.0 + 2.0 * (j as f64 + 0.5) / ny as f64;
        let c = (1.0 - s * s).sqrt();
        for i in 0..nx {
            let lam = -PI + 2.0 * PI * (i as f64 + 0.5) / nx as f64;
            v.extend([c * lam.cos(), c * lam.sin(), s]);
        }
    }
    let cell = (2.0 * PI / nx as f64) * (2.0 / ny as f64);
    (Tensor::from_vec(v, &[nx * ny, 3]), cell)
}

/// Map coordinates `(λ, sin φ)` of unit vectors.
pub(super) fn map_coordinates(x: &Tensor) -> Vec<(f64, f64)> {
    x.to_vec_f64()
        .chunks(3)
        .map(|p| (p[1].atan2(p[0]), p[2].clamp(-1.0, 1.0)))
        .collect()
}

/// The model's exact decoder density on the equal-area grid and its integral (Riemann sum).
pub(super) fn density_map(
    flow: &Model,
    nx: usize,
    ny: usize,
    rng: &mut dyn Rng,
) -> (Vec<f64>, f64) {
    let (grid, cell) = equal_area_grid(nx, ny);
    let e = flow.exact(&grid, Side::Decoder, rng);
    let dens: Vec<f64> = e.log_prob.to_vec_f64().iter().map(|l| l.exp()).collect();
    let mass = dens.iter().sum::<f64>() * cell;
    (dens, mass)
}

/// Saves the density map and the data scatter on the same equal-area window.
pub(super) fn sphere_figures(
    ctx: &mut RunContext,
    stem: &str,
    title: &str,
    density: Vec<f64>,
    (nx, ny): (usize, usize),
    data: &Tensor,
) -> Result<(), ExperimentError> {
    ctx.save_figure(
        &format!("{stem}_density.svg"),
        format!("{title}: model density (exact, decoder side) on the equal-area map (longitude, sin latitude)"),
        |path| {
            Heatmap {
                title: format!("{title}: model density"),
                value_label: "density".into(),
                x_range: (-PI, PI),
                y_range: (-1.0, 1.0),
                nx,
                ny,
                values: density,
            }
            .save_svg(path)
        },
    )?;
    let points = map_coordinates(data);
    ctx.save_figure(
        &format!("{stem}_data.svg"),
        format!("{title}: test points on the same equal-area map"),
        |path| {
            ScatterPlot {
                title: format!("{title}: test data"),
                x_label: "longitude (rad)".into(),
                y_label: "sin latitude".into(),
                x_range: (-PI, PI),
                y_range: (-1.0, 1.0),
                groups: vec![Series::solid("data", points, 0)],
                radius: 1,
            }
            .save_svg(path)
        },
    )
}

/// The weight a regulariser has against the log-det gradient under the unbiased `√n`
/// Hutchinson scale: with a uniform base, the official `√m` scale multiplies the log-det
/// gradient by m/n, which is the same as dividing every regulariser weight by m/n.
pub(super) fn weight_under_sqrt_n(weight: f64, scale: TangentScale, n: usize, m: usize) -> f64 {
    match scale {
        TangentScale::Intrinsic => weight,
        TangentScale::Ambient => weight * n as f64 / m as f64,
    }
}

/// Mean and standard error.
pub(super) fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// The engine configuration of an M-FFF run: Adam with the preset's schedule
/// ([`LrSchedule`]), momentum cycling and gradient clipping, skipping of isolated non-finite
/// steps, and (when the runner gives a work folder, as in full mode) a resumable checkpoint
/// every 1000 steps.
pub(super) fn train_config(
    ctx: &RunContext,
    net: &NetPreset,
    stem: &str,
    seed: u64,
) -> Result<flow_core::train::TrainConfig, ExperimentError> {
    let checkpoint = ctx
        .work_dir()?
        .map(|dir| dir.join(format!("{stem}.safetensors")));
    train_config_at(net, checkpoint, seed)
}

/// [`train_config`] with the checkpoint file given (None: in memory only).
///
/// # Errors
/// [`ExperimentError::Failed`] for momentum cycling without a one-cycle schedule or with
/// bounds outside `0 ≤ base ≤ max < 1`.
pub(super) fn train_config_at(
    net: &NetPreset,
    checkpoint: Option<std::path::PathBuf>,
    seed: u64,
) -> Result<flow_core::train::TrainConfig, ExperimentError> {
    use flow_core::optim::Schedule;
    use flow_core::train::{NonFinitePolicy, TrainConfig};
    let schedule = match net.schedule {
        LrSchedule::OneCycle => Schedule::OneCycle {
            total_steps: net.steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: net.final_div_factor,
        },
        LrSchedule::Exponential { gamma } => Schedule::Exponential { gamma },
    };
    let mut config = TrainConfig::new(net.steps, net.lr)
        .with_schedule(schedule)
        .with_weight_decay(net.weight_decay)
        .with_seed(seed)
        .with_non_finite(NonFinitePolicy::Skip {
            max_consecutive: 20,
        });
    if let Some(clip) = net.clip_grad_norm {
        config = config.with_clip_grad_norm(clip);
    }
    let cycle = net.momentum;
    let bad =
        |why: &str| ExperimentError::Failed(format!("bad preset: net.momentum {cycle:?}: {why}"));
    if !(0.0 <= cycle.base && cycle.base <= cycle.max && cycle.max < 1.0) {
        return Err(bad("needs 0 ≤ base ≤ max < 1"));
    }
    if cycle.base == cycle.max {
        if let flow_core::train::OptimizerConfig::Adam(adam) = &mut config.optimizer {
            adam.beta1 = cycle.base;
        }
    } else if net.schedule != LrSchedule::OneCycle {
        return Err(bad("momentum cycling needs the one-cycle schedule"));
    } else {
        config = config.with_momentum_cycle(cycle);
    }
    if let Some(path) = checkpoint {
        config = config.with_checkpoint(path, 1000);
    }
    Ok(config)
}

/// How the page states the momentum setting.
pub(super) fn momentum_text(net: &NetPreset) -> String {
    let c = net.momentum;
    if c.base == c.max {
        format!("β₁ = {} throughout (no momentum cycling)", c.base)
    } else {
        format!(
            "β₁ cycled {}→{}→{} inversely to the rate (PyTorch's OneCycleLR momentum cycling, as the official runs)",
            c.max, c.base, c.max
        )
    }
}

pub(super) use super::side::{SIDE_NOTE, SideGap, push_side_agreement, push_side_gap, side_gap};

/// Wraps a displayable error as a failed experiment.
pub(super) fn failed(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(e.to_string())
}

/// Paired test statistics of a model against an exact target on the same points: mean and
/// standard error of the model's NLL, of the target's (its entropy) and of their difference
/// (the KL estimate, whose pairing removes most of the sampling noise).
pub(super) fn paired_nll(
    model_log_prob: &flow_core::Tensor,
    target_log_prob: &flow_core::Tensor,
) -> ((f64, f64), (f64, f64), (f64, f64)) {
    let neg = |t: &flow_core::Tensor| -> Vec<f64> { t.to_vec_f64().iter().map(|l| -l).collect() };
    let (model, truth) = (neg(model_log_prob), neg(target_log_prob));
    let diff: Vec<f64> = model.iter().zip(&truth).map(|(a, b)| a - b).collect();
    (mean_se(&model), mean_se(&truth), mean_se(&diff))
}
