//! Training with a validation curve: the exact bgflow NLL of held-out reference samples at
//! evenly spaced steps, keeping the parameters with the best value (the paper selects DW4
//! checkpoints by `validation/nll`, `free-form-flows.md` §2.3).

use flow_core::Tensor;
use flow_freeform::{FffLossConfig, FreeFormFlow, JacobianSide, ModelSpec, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::ExperimentError;
use crate::experiments::free_form::common::{Rng, exact_parallel};
use crate::experiments::free_form::training::train_selected;
use crate::plot::{LinePlot, Scale, Series};

/// Rows per exact-likelihood chunk of the Boltzmann evaluations.
pub(super) const EXACT_CHUNK: usize = 250;

/// Mean exact NLL of `x` in the bgflow convention `½‖f(x)‖² + log|det J_g(f(x))|`, with the
/// chunks of [`EXACT_CHUNK`] rows on the `flow_core::parallel` threads (`spec` describes
/// `model`).
pub(super) fn bgflow_nll(model: &FreeFormFlow, spec: &ModelSpec, x: &Tensor) -> f64 {
    exact_parallel(model, spec, x, None, JacobianSide::Decoder, EXACT_CHUNK)
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

/// Trains `model` on `data` for `cfg.steps` steps, measuring the validation NLL of `val` at
/// `evals` evenly spaced steps (and before training), and ends holding the parameters of the
/// best measurement. A non-finite validation NLL never counts as best.
///
/// Resumable through [`super::super::training::train_selected`] (the engine's checkpoint in
/// the work folder holds the curve and the best parameters): a rerun after Ctrl-C or a crash
/// continues bit-identically from the last checkpoint.
///
/// # Errors
/// [`ExperimentError::Failed`] if training diverges or resumable state is unreadable;
/// [`ExperimentError::Cancelled`] on Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_with_validation(
    ctx: &RunContext,
    prefix: &str,
    (model, spec): (&FreeFormFlow, &ModelSpec),
    data: &Tensor,
    val: &Tensor,
    evals: usize,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
) -> Result<ValidationCurve, ExperimentError> {
    let metric = |m: &FreeFormFlow| bgflow_nll(m, spec, val);
    let (report, best) = train_selected(
        ctx,
        prefix,
        model,
        data,
        loss,
        cfg,
        evals as u64,
        rng,
        &metric,
    )?;
    let (steps, nll) = report
        .curves
        .validation
        .iter()
        .map(|&(s, v)| (s as f64, v))
        .unzip();
    Ok(ValidationCurve {
        steps,
        nll,
        best_step: best.step,
        best_nll: Some(best.value),
        train_seconds: report.total_seconds - report.validation_seconds,
        resumed: report.resumes as usize,
    })
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
    use flow_freeform::{EgnnConfig, Latent, NetConfig};

    use rand::SeedableRng;

    use super::*;
    use crate::experiments::free_form::training::tests::context;

    fn egnn_spec() -> ModelSpec {
        ModelSpec {
            net: NetConfig::Egnn(EgnnConfig::new(3, 2, 1).with_hidden(8)),
            latent: Latent::mean_free(3, 2),
            dtype: DType::F64,
            seed: 3,
        }
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
                (&egnn_spec().build(), &egnn_spec()),
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
        std::fs::write(dir.path().join("state/toy-train.safetensors"), b"{").unwrap();
        let broken = train_with_validation(
            &ctx,
            "toy",
            (&egnn_spec().build(), &egnn_spec()),
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
            Ok(_) => panic!("a corrupt state file was accepted"),
        }
    }
}
