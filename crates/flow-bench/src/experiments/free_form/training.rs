//! Resumable training of the free-form experiments on the workspace's training engine,
//! optionally keeping the parameters that do best on held-out data.
//!
//! One mechanism for every experiment: the engine's checkpoint (parameters, Adam, step,
//! curves, best parameters, seconds) lives in the work folder as `<label>-train.safetensors`,
//! a rerun continues from it and a finished run is not retrained. The run's seed is one draw
//! of the experiment's RNG, so the caller's RNG advances the same way whether or not training
//! resumed, and a resumed run is bit-identical to an uninterrupted one.

use std::path::Path;

use flow_core::Tensor;
use flow_freeform::{FffLossConfig, FreeFormFlow, TrainConfig, TrainError, TrainReport, Trainer};
use rand::RngExt;

use super::common::Rng;
use crate::context::RunContext;
use crate::experiment::ExperimentError;

/// Trains with the context's cancellation; returns the training wall time in seconds (summed
/// over resumed segments).
#[allow(clippy::too_many_arguments)]
pub(crate) fn train(
    ctx: &RunContext,
    label: &str,
    model: &FreeFormFlow,
    data: &Tensor,
    cond: Option<&Tensor>,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
) -> Result<f64, ExperimentError> {
    let report = run(ctx, label, model, data, cond, loss, cfg, rng, None)?;
    Ok(report.total_seconds)
}

/// The parameters [`train_selected`] kept: the step and value of the best measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Selected {
    /// Step of the kept parameters (0: before training).
    pub step: u64,
    /// The held-out metric there (lower is better).
    pub value: f64,
}

/// [`train`] with model selection on held-out data: `metric(model)` (lower is better; a
/// non-finite value never counts) is measured before training and `evals` times during it,
/// and the model ends holding the parameters of the best measurement, the way the official
/// runs keep their best-validation checkpoint. Over-parameterised models on small data (the
/// 8×8 digits) otherwise end overfitted. Returns the whole report (the validation curve, the
/// training seconds with validation included in `total_seconds` and counted in
/// `validation_seconds`) and the selection.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_selected(
    ctx: &RunContext,
    label: &str,
    model: &FreeFormFlow,
    data: &Tensor,
    loss: FffLossConfig,
    cfg: TrainConfig,
    evals: u64,
    rng: &mut Rng,
    metric: &dyn Fn(&FreeFormFlow) -> f64,
) -> Result<(TrainReport, Selected), ExperimentError> {
    let every = (cfg.steps / evals.max(1)).max(1);
    let report = run(
        ctx,
        label,
        model,
        data,
        None,
        loss,
        cfg,
        rng,
        Some((every, metric)),
    )?;
    let (step, value) = report.best.ok_or_else(|| {
        ExperimentError::Failed(format!("{label}: no finite held-out measurement"))
    })?;
    Ok((report, Selected { step, value }))
}

fn resume_failed(path: &Path, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(format!(
        "resuming from {}: {e} (rerun with --redo to start afresh)",
        path.display()
    ))
}

/// A held-out metric of a model (lower is better).
type Metric<'a> = dyn Fn(&FreeFormFlow) -> f64 + 'a;

/// One resumable run; with a metric, validates every `every` steps and restores the best.
#[allow(clippy::too_many_arguments)]
fn run(
    ctx: &RunContext,
    label: &str,
    model: &FreeFormFlow,
    data: &Tensor,
    cond: Option<&Tensor>,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
    metric: Option<(u64, &Metric<'_>)>,
) -> Result<TrainReport, ExperimentError> {
    let mut cfg = cfg.with_seed(rng.random::<u64>());
    let state = ctx
        .work_dir()?
        .map(|d| d.join(format!("{label}-train.safetensors")));
    if let Some(path) = &state {
        let every = (cfg.steps / 10).clamp(1, 1000);
        cfg = cfg.with_checkpoint(path, every);
    }
    if let Some((every, _)) = metric {
        cfg = cfg.with_validation(every, None);
    }
    let mut trainer = Trainer::new(loss, cfg).with_cancel_flag(ctx.cancel_flag());
    if let Some(path) = &state {
        trainer
            .resume_if_present(model)
            .map_err(|e| resume_failed(path, e))?;
    }
    let report = match metric {
        Some((_, m)) => trainer.fit_validated(model, data, cond, |_, model| m(model)),
        None => trainer.fit(model, data, cond),
    };
    let report = report.map_err(|e| match e {
        TrainError::Cancelled { .. } => ExperimentError::Cancelled,
        other => ExperimentError::Failed(format!("{label}: {other}")),
    })?;
    if metric.is_some() {
        trainer.restore_best();
    }
    Ok(report)
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use indicatif::ProgressBar;

    use flow_core::DType;
    use flow_core::nn::Module;
    use flow_freeform::{Latent, ResNetConfig};
    use rand::SeedableRng;

    use super::*;
    use crate::experiment::Mode;
    use crate::experiments::free_form::common::resnet_pair;

    /// A test-mode context whose work folder is `work/state`.
    pub(in crate::experiments::free_form) fn context(work: &Path) -> RunContext {
        RunContext::new(
            Mode::Test,
            0,
            serde_json::Value::Null,
            work.join("figures"),
            "figures".into(),
            ProgressBar::hidden(),
            Arc::new(AtomicBool::new(false)),
        )
        .with_work_dir(work.join("state"))
    }

    fn model(seed: u64) -> FreeFormFlow {
        let cfg = ResNetConfig::new(2, 2, &[8], 1);
        resnet_pair(
            cfg,
            Latent::standard_normal(2),
            &mut Rng::seed_from_u64(seed),
        )
    }

    fn values(m: &FreeFormFlow) -> Vec<Vec<f64>> {
        m.parameters()
            .iter()
            .map(|p| p.get().to_vec_f64())
            .collect()
    }

    fn data() -> Tensor {
        Tensor::randn(&[64, 2], DType::F32, &mut Rng::seed_from_u64(9))
    }

    /// The training seconds the state file recorded at its last step.
    fn recorded_seconds(dir: &Path) -> f64 {
        flow_core::io::Checkpoint::load(dir.join("state/t-train.safetensors"))
            .unwrap()
            .metadata_parsed("train.seconds")
            .unwrap()
    }

    fn config() -> TrainConfig {
        TrainConfig::new(20, 16, 1e-2)
    }

    /// With a metric that grows as the parameters leave their initial values, the best
    /// measurement is step 0: the model ends holding its initial parameters, and a rerun of
    /// the finished run (a fresh model, the same work folder) restores the same selection
    /// from disk without training.
    #[test]
    fn selection_keeps_the_best_measurement_and_survives_a_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let m = model(1);
        let initial = values(&m);
        let start: Vec<Tensor> = m.parameters().iter().map(|p| p.get()).collect();
        let drift = |m: &FreeFormFlow| {
            let params = m.parameters();
            params
                .iter()
                .zip(&start)
                .map(|(p, s)| p.get().sub(s).square().sum_all().item())
                .sum::<f64>()
        };
        let loss = FffLossConfig::new(10.0);
        let mut rng = Rng::seed_from_u64(2);
        let (report, kept) = train_selected(
            &ctx,
            "t",
            &m,
            &data(),
            loss.clone(),
            config(),
            10,
            &mut rng,
            &drift,
        )
        .unwrap();
        let seconds = report.total_seconds;
        assert_eq!(
            report.curves.validation.len(),
            11,
            "before training and 10 times"
        );
        assert_eq!(
            kept,
            Selected {
                step: 0,
                value: 0.0
            }
        );
        assert_eq!(values(&m), initial);
        assert!(seconds > 0.0);

        let fresh = model(5);
        assert_ne!(values(&fresh), initial);
        let mut rng = Rng::seed_from_u64(2);
        let (again, kept) = train_selected(
            &ctx,
            "t",
            &fresh,
            &data(),
            loss,
            config(),
            10,
            &mut rng,
            &drift,
        )
        .unwrap();
        let again = again.total_seconds;
        assert_eq!(kept.step, 0);
        assert_eq!(
            values(&fresh),
            initial,
            "the best parameters were not restored"
        );
        let recorded = recorded_seconds(dir.path());
        assert!(recorded > 0.0 && recorded <= seconds);
        assert!(
            again >= recorded,
            "{again} did not count the first run's {recorded} s"
        );
    }

    /// A metric that is never finite selects nothing, which is an error rather than a model
    /// silently left at its last step.
    #[test]
    fn no_finite_measurement_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let nan = |_: &FreeFormFlow| f64::NAN;
        let err = train_selected(
            &ctx,
            "t",
            &model(1),
            &data(),
            FffLossConfig::new(10.0),
            config(),
            10,
            &mut Rng::seed_from_u64(2),
            &nan,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("no finite held-out measurement"),
            "{err}"
        );
    }

    /// Without selection, a finished run reruns to a no-op: a fresh model ends with the
    /// trained parameters and the reported time is the first run's.
    #[test]
    fn a_finished_run_is_not_retrained() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let run = |m: &FreeFormFlow| {
            let loss = FffLossConfig::new(10.0);
            let mut rng = Rng::seed_from_u64(2);
            train(&ctx, "t", m, &data(), None, loss, config(), &mut rng).unwrap()
        };
        let m = model(1);
        let first = run(&m);
        let fresh = model(5);
        let second = run(&fresh);
        assert_eq!(values(&fresh), values(&m));
        let recorded = recorded_seconds(dir.path());
        assert!(recorded > 0.0 && recorded <= first);
        assert!(
            second >= recorded,
            "{second} did not count the first run's {recorded} s"
        );
    }

    /// A state file whose metadata contradicts the preset (more steps done than configured,
    /// an unparsable time) is refused with the path and the `--redo` hint, and leaves the
    /// fresh model untouched.
    #[test]
    fn tampered_resume_metadata_is_a_clear_error() {
        for (field, value) in [("train.step", "999999"), ("train.seconds", "abc")] {
            let dir = tempfile::tempdir().unwrap();
            let ctx = context(dir.path());
            let run = |m: &FreeFormFlow| {
                let loss = FffLossConfig::new(10.0);
                let mut rng = Rng::seed_from_u64(2);
                train(&ctx, "t", m, &data(), None, loss, config(), &mut rng)
            };
            run(&model(1)).unwrap();
            let path = dir.path().join("state/t-train.safetensors");
            let mut ck = flow_core::io::Checkpoint::load(&path).unwrap();
            ck.set_metadata(field, value);
            ck.save(&path).unwrap();
            let fresh = model(5);
            let before = values(&fresh);
            let err = run(&fresh).unwrap_err().to_string();
            assert!(
                err.contains("resuming from") && err.contains("--redo"),
                "{field}: {err}"
            );
            assert_eq!(
                values(&fresh),
                before,
                "{field}: a failed resume changed the model"
            );
        }
    }
}
