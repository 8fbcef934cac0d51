//! Training with a validation curve: the exact bgflow NLL of held-out reference samples at
//! evenly spaced steps, keeping the parameters with the best value (the paper selects DW4
//! checkpoints by `validation/nll`, `free-form-flows.md` §2.3).

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_freeform::{
    FffLossConfig, FreeFormFlow, JacobianSide, TrainConfig, Trainer, exact_log_prob,
};

use crate::context::RunContext;
use crate::experiment::ExperimentError;
use crate::experiments::free_form::common::Rng;
use crate::plot::{LinePlot, Scale, Series};

/// Mean exact NLL of `x` in the bgflow convention `½‖f(x)‖² + log|det J_g(f(x))|`.
pub(super) fn bgflow_nll(model: &FreeFormFlow, x: &Tensor) -> f64 {
    exact_log_prob(model, x, None, JacobianSide::Decoder, 250)
        .nll_bgflow(model)
        .mean_all()
        .item()
}

/// What [`train_with_validation`] measured.
pub(super) struct ValidationCurve {
    /// Steps at which the validation NLL was measured (0 = before training).
    pub steps: Vec<f64>,
    /// Validation NLL (bgflow convention) at those steps.
    pub nll: Vec<f64>,
    /// The step whose parameters the model holds at the end (best validation NLL).
    pub best_step: u64,
    /// Training wall time in seconds, validation excluded.
    pub train_seconds: f64,
}

/// Trains `model` on `data` for `cfg.steps` steps, measuring the validation NLL of `val` at
/// `evals` evenly spaced steps (and before training), and ends holding the parameters of the
/// best measurement. A non-finite validation NLL never counts as best.
///
/// # Errors
/// [`ExperimentError::Failed`] if training diverges; [`ExperimentError::Cancelled`] on Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_with_validation(
    ctx: &RunContext,
    model: &FreeFormFlow,
    data: &Tensor,
    val: &Tensor,
    evals: usize,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
) -> Result<ValidationCurve, ExperimentError> {
    let total = cfg.steps;
    let every = (total / evals.max(1) as u64).max(1);
    let params = model.parameters();
    let snapshot = || params.iter().map(|p| p.get().detach()).collect::<Vec<_>>();
    let first = bgflow_nll(model, val);
    let mut curve = ValidationCurve {
        steps: vec![0.0],
        nll: vec![first],
        best_step: 0,
        train_seconds: 0.0,
    };
    let mut best = (
        if first.is_finite() {
            first
        } else {
            f64::INFINITY
        },
        snapshot(),
    );
    let mut validation_seconds = 0.0;
    let mut trainer = Trainer::new(loss, cfg);
    let report = trainer
        .fit(model, data, None, rng, |step, m| {
            if ctx.check_cancelled().is_err() {
                return false;
            }
            if step.is_multiple_of(every) || step == total {
                let t = std::time::Instant::now();
                let v = bgflow_nll(m, val);
                curve.steps.push(step as f64);
                curve.nll.push(v);
                if v < best.0 {
                    best = (v, snapshot());
                    curve.best_step = step;
                }
                validation_seconds += t.elapsed().as_secs_f64();
            }
            true
        })
        .map_err(|e| ExperimentError::Failed(e.to_string()))?;
    ctx.check_cancelled()?;
    for (p, v) in params.iter().zip(best.1) {
        p.set(v);
    }
    curve.train_seconds = report.seconds - validation_seconds;
    Ok(curve)
}

/// The validation curve of one system, with the paper's value and the Gaussian baseline as
/// dashed lines.
pub(super) fn curve_plot(
    name: &str,
    curve: &ValidationCurve,
    paper: f64,
    gaussian: f64,
) -> LinePlot {
    let pts: Vec<(f64, f64)> = curve
        .steps
        .iter()
        .copied()
        .zip(curve.nll.iter().copied())
        .filter(|(_, v)| v.is_finite())
        .collect();
    let (lo, hi) = (
        pts.first().map_or(0.0, |p| p.0),
        pts.last().map_or(1.0, |p| p.0),
    );
    LinePlot {
        title: format!("{name}: exact validation NLL (bgflow convention) during training"),
        x_label: "training step".into(),
        y_label: "NLL (nats, no normalising constant)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series: vec![
            Series::solid("E(3)-FFF (ours), validation", pts, 0),
            Series::dashed("paper E(3)-FFF", vec![(lo, paper), (hi, paper)], 1),
            Series::dashed(
                "best scaled Gaussian",
                vec![(lo, gaussian), (hi, gaussian)],
                2,
            ),
        ],
    }
}
