//! Training with a validation curve: the exact bgflow NLL of held-out reference samples at
//! evenly spaced steps, keeping the parameters with the best value (the paper selects DW4
//! checkpoints by `validation/nll`, `free-form-flows.md` §2.3).

use std::path::{Path, PathBuf};
use std::time::Instant;

use flow_core::Tensor;
use flow_core::io::{Checkpoint, write_atomically};
use flow_core::nn::Module;
use flow_freeform::{
    FffLossConfig, FreeFormFlow, JacobianSide, TrainConfig, Trainer, exact_log_prob,
};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct ValidationCurve {
    /// Steps at which the validation NLL was measured (0 = before training).
    pub steps: Vec<f64>,
    /// Validation NLL (bgflow convention) at those steps.
    pub nll: Vec<f64>,
    /// The step whose parameters the model holds at the end (best validation NLL).
    pub best_step: u64,
    /// The best validation NLL (None while no measurement was finite).
    pub best_nll: Option<f64>,
    /// Training wall time in seconds, validation excluded, summed over resumed segments.
    pub train_seconds: f64,
    /// How many times the run was resumed from a checkpoint.
    #[serde(default)]
    pub resumed: usize,
}

/// Where a resumable run keeps its state: the training checkpoint (parameters, Adam, step),
/// the best parameters so far, and the curve.
struct RunFiles {
    train: PathBuf,
    best: PathBuf,
    curve: PathBuf,
}

impl RunFiles {
    fn in_dir(dir: &Path, prefix: &str) -> RunFiles {
        RunFiles {
            train: dir.join(format!("{prefix}-train.safetensors")),
            best: dir.join(format!("{prefix}-best.safetensors")),
            curve: dir.join(format!("{prefix}-curve.json")),
        }
    }

    fn all_exist(&self) -> bool {
        self.train.is_file() && self.best.is_file() && self.curve.is_file()
    }

    fn save_curve(&self, curve: &ValidationCurve) -> Result<(), ExperimentError> {
        let json = serde_json::to_vec_pretty(curve)?;
        write_atomically(&self.curve, &json).map_err(|e| ExperimentError::Failed(e.to_string()))
    }
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(format!(
        "{what} {}: {e} (rerun with --redo to start this experiment afresh)",
        path.display()
    ))
}

/// Restores a stopped run: model and optimiser from the training checkpoint, the best
/// parameters and the curve so far. Returns the curve and the best parameter values.
fn resume(
    trainer: &mut Trainer,
    model: &FreeFormFlow,
    files: &RunFiles,
) -> Result<(ValidationCurve, Vec<Tensor>), ExperimentError> {
    trainer
        .resume(model, &files.train)
        .map_err(|e| failed("resuming from", &files.train, e))?;
    let text = std::fs::read(&files.curve).map_err(|e| failed("reading", &files.curve, e))?;
    let mut curve: ValidationCurve =
        serde_json::from_slice(&text).map_err(|e| failed("parsing", &files.curve, e))?;
    let best = Checkpoint::load(&files.best).map_err(|e| failed("reading", &files.best, e))?;
    let values = model
        .parameters()
        .iter()
        .map(|p| best.check_compatible(p.name(), &p.get()).cloned())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed("reading", &files.best, e))?;
    curve.resumed += 1;
    Ok((curve, values))
}

/// Trains `model` on `data` for `cfg.steps` steps, measuring the validation NLL of `val` at
/// `evals` evenly spaced steps (and before training), and ends holding the parameters of the
/// best measurement. A non-finite validation NLL never counts as best.
///
/// Resumable: when the context has a work folder, the training state is checkpointed at
/// every measurement under `prefix`, and a rerun after Ctrl-C or a crash continues from the
/// last one (with a fresh minibatch stream derived from the step, so not bit-identical to an
/// uninterrupted run).
///
/// # Errors
/// [`ExperimentError::Failed`] if training diverges or resumable state is unreadable;
/// [`ExperimentError::Cancelled`] on Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_with_validation(
    ctx: &RunContext,
    prefix: &str,
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
    let files = ctx.work_dir()?.map(|dir| RunFiles::in_dir(dir, prefix));
    let cfg = match &files {
        Some(f) => cfg.with_checkpoint(&f.train, every),
        None => cfg,
    };
    let params = model.parameters();
    let snapshot = || params.iter().map(|p| p.get().detach()).collect::<Vec<_>>();
    let mut trainer = Trainer::new(loss, cfg);
    let (mut curve, mut best) = match files.as_ref().filter(|f| f.all_exist()) {
        Some(f) => {
            let resumed = resume(&mut trainer, model, f)?;
            *rng = Rng::seed_from_u64(rng.random::<u64>() ^ trainer.step_count());
            resumed
        }
        None => {
            let first = bgflow_nll(model, val);
            let curve = ValidationCurve {
                steps: vec![0.0],
                nll: vec![first],
                best_step: 0,
                best_nll: first.is_finite().then_some(first),
                train_seconds: 0.0,
                resumed: 0,
            };
            (curve, snapshot())
        }
    };
    let seconds_before = curve.train_seconds;
    let start = Instant::now();
    let mut validation_seconds = 0.0;
    let mut io_error = None;
    trainer
        .fit(model, data, None, rng, |step, m| {
            if ctx.check_cancelled().is_err() {
                return false;
            }
            if step.is_multiple_of(every) || step == total {
                let t = Instant::now();
                let v = bgflow_nll(m, val);
                curve.steps.push(step as f64);
                curve.nll.push(v);
                let improved = v.is_finite() && curve.best_nll.is_none_or(|b| v < b);
                if improved {
                    best = snapshot();
                    curve.best_step = step;
                    curve.best_nll = Some(v);
                }
                validation_seconds += t.elapsed().as_secs_f64();
                curve.train_seconds =
                    seconds_before + start.elapsed().as_secs_f64() - validation_seconds;
                if let Some(f) = &files {
                    let saved = if improved {
                        Checkpoint::from_params(&params)
                            .save(&f.best)
                            .map_err(|e| ExperimentError::Failed(e.to_string()))
                    } else {
                        Ok(())
                    };
                    if let Err(e) = saved.and_then(|()| f.save_curve(&curve)) {
                        io_error = Some(e);
                        return false;
                    }
                }
            }
            true
        })
        .map_err(|e| ExperimentError::Failed(e.to_string()))?;
    if let Some(e) = io_error {
        return Err(e);
    }
    ctx.check_cancelled()?;
    for (p, v) in params.iter().zip(best) {
        p.set(v);
    }
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

#[cfg(test)]
mod tests {
    use flow_core::DType;
    use flow_freeform::{EgnnConfig, Latent};

    use super::*;
    use crate::experiments::free_form::training::tests::context;

    fn egnn_flow() -> FreeFormFlow {
        let mut rng = Rng::seed_from_u64(3);
        let cfg = EgnnConfig::new(3, 2, 1).with_hidden(8);
        FreeFormFlow::new(
            Box::new(cfg.build("encoder", DType::F64, &mut rng)),
            Box::new(cfg.build("decoder", DType::F64, &mut rng)),
            Latent::mean_free(3, 2),
        )
    }

    /// A run that stopped at step 20 (its state on disk) continues to step 40 when rerun: the
    /// curve keeps its first points, gains the new ones, and counts the resume.
    #[test]
    fn a_stopped_run_resumes_from_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let mut rng = Rng::seed_from_u64(4);
        let latent = Latent::mean_free(3, 2);
        let data = latent.sample(64, DType::F64, &mut rng).mul_scalar(1.5);
        let val = latent.sample(8, DType::F64, &mut rng).mul_scalar(1.5);
        let run = |steps: u64, evals: usize, rng: &mut Rng| {
            train_with_validation(
                &ctx,
                "toy",
                &egnn_flow(),
                &data,
                &val,
                evals,
                FffLossConfig::new(10.0),
                TrainConfig::new(steps, 16, 1e-3),
                rng,
            )
            .unwrap()
        };
        let first = run(20, 2, &mut Rng::seed_from_u64(5));
        assert_eq!(first.steps, vec![0.0, 10.0, 20.0]);
        assert_eq!(first.resumed, 0);
        let second = run(40, 4, &mut Rng::seed_from_u64(5));
        assert_eq!(second.resumed, 1);
        assert_eq!(second.steps, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(second.nll[..3], first.nll[..]);
        assert!(second.train_seconds >= first.train_seconds);
        std::fs::write(dir.path().join("state/toy-curve.json"), b"{").unwrap();
        let broken = train_with_validation(
            &ctx,
            "toy",
            &egnn_flow(),
            &data,
            &val,
            4,
            FffLossConfig::new(10.0),
            TrainConfig::new(40, 16, 1e-3),
            &mut Rng::seed_from_u64(5),
        );
        match broken {
            Err(ExperimentError::Failed(why)) => assert!(why.contains("--redo"), "{why}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a corrupt curve file was accepted"),
        }
    }
}
