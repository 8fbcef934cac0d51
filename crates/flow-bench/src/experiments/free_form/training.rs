//! Resumable training of the ResNet experiments, optionally keeping the parameters that do
//! best on held-out data.

use std::path::{Path, PathBuf};

use flow_core::Tensor;
use flow_core::io::Checkpoint;
use flow_core::nn::{Module, Param};
use flow_freeform::{FffLossConfig, FreeFormFlow, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};

use super::common::Rng;
use crate::context::RunContext;
use crate::experiment::ExperimentError;

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
    let run = TrainRun::new(ctx, label, cfg)?;
    run.fit(model, data, cond, loss, rng, None)
        .map(|(seconds, _)| seconds)
}

/// The parameters [`train_selected`] kept: the step and value of the best measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Selected {
    /// Step of the kept parameters (0: before training).
    pub step: u64,
    /// The held-out metric there (lower is better).
    pub value: f64,
}

/// [`train`] with model selection on held-out data: `metric(model)` (lower is better; a
/// non-finite value never counts) is measured before training and at every checkpoint
/// interval, and the model ends holding the parameters of the best measurement, the way the
/// official runs keep their best-validation checkpoint. Over-parameterised models on small
/// data (the 8×8 digits) otherwise end overfitted. The best parameters are also kept in the
/// work folder (`<label>-best.safetensors`), so selection survives a resume.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_selected(
    ctx: &RunContext,
    label: &str,
    model: &FreeFormFlow,
    data: &Tensor,
    loss: FffLossConfig,
    cfg: TrainConfig,
    rng: &mut Rng,
    metric: &dyn Fn(&FreeFormFlow) -> f64,
) -> Result<(f64, Selected), ExperimentError> {
    let run = TrainRun::new(ctx, label, cfg)?;
    let (seconds, selected) = run.fit(model, data, None, loss, rng, Some(metric))?;
    let selected = selected.ok_or_else(|| {
        ExperimentError::Failed(format!("{label}: no finite held-out measurement"))
    })?;
    Ok((seconds, selected))
}

/// One resumable training run of [`train`] / [`train_selected`].
struct TrainRun<'a> {
    ctx: &'a RunContext,
    cfg: TrainConfig,
    state: Option<PathBuf>,
    best: Option<PathBuf>,
}

impl<'a> TrainRun<'a> {
    fn new(ctx: &'a RunContext, label: &str, cfg: TrainConfig) -> Result<Self, ExperimentError> {
        let dir = ctx.work_dir()?;
        let state = dir.map(|d| d.join(format!("{label}-train.safetensors")));
        let best = dir.map(|d| d.join(format!("{label}-best.safetensors")));
        let cfg = match &state {
            Some(p) => {
                let every = (cfg.steps / 10).clamp(1, 1000);
                cfg.with_checkpoint(p, every)
            }
            None => cfg,
        };
        Ok(TrainRun {
            ctx,
            cfg,
            state,
            best,
        })
    }

    fn fit(
        self,
        model: &FreeFormFlow,
        data: &Tensor,
        cond: Option<&Tensor>,
        loss: FffLossConfig,
        rng: &mut Rng,
        metric: Option<&dyn Fn(&FreeFormFlow) -> f64>,
    ) -> Result<(f64, Option<Selected>), ExperimentError> {
        let mut train_rng = Rng::seed_from_u64(rng.random::<u64>());
        let (every, total) = (self.cfg.checkpoint_every, self.cfg.steps);
        let mut trainer = Trainer::new(loss, self.cfg);
        let params = model.parameters();
        let mut kept: Option<(Selected, Vec<Tensor>)> = None;
        if let Some(p) = self.state.as_ref().filter(|p| p.is_file()) {
            let step = trainer.resume(model, p).map_err(|e| resume_failed(p, e))?;
            train_rng = Rng::seed_from_u64(train_rng.random::<u64>() ^ step);
            if let Some(b) = self.best.as_ref().filter(|b| b.is_file()) {
                kept = Some(load_best(b, &params)?);
            }
        } else if let Some(m) = metric {
            let first = Selected {
                step: 0,
                value: m(model),
            };
            if first.value.is_finite() {
                save_best(self.best.as_deref(), &params, first)?;
                kept = Some((first, snapshot(&params)));
            }
        }
        let ctx = self.ctx;
        let mut io_error = None;
        let report = trainer
            .fit(model, data, cond, &mut train_rng, |step, m| {
                if ctx.check_cancelled().is_err() {
                    return false;
                }
                let Some(metric) = metric else { return true };
                if !(step.is_multiple_of(every) || step == total) {
                    return true;
                }
                let value = metric(m);
                let better =
                    value.is_finite() && kept.as_ref().is_none_or(|(s, _)| value < s.value);
                if better {
                    let selected = Selected { step, value };
                    kept = Some((selected, snapshot(&params)));
                    if let Err(e) = save_best(self.best.as_deref(), &params, selected) {
                        io_error = Some(e);
                        return false;
                    }
                }
                true
            })
            .map_err(|e| ExperimentError::Failed(e.to_string()))?;
        ctx.check_cancelled()?;
        if let Some(e) = io_error {
            return Err(e);
        }
        let selected = kept.map(|(s, values)| {
            for (p, v) in params.iter().zip(values) {
                p.set(v);
            }
            s
        });
        Ok((report.seconds + report.earlier_seconds, selected))
    }
}

fn snapshot(params: &[Param]) -> Vec<Tensor> {
    params.iter().map(|p| p.get().detach()).collect()
}

/// Writes the kept parameters with their step and value (nothing without a work folder).
fn save_best(path: Option<&Path>, params: &[Param], kept: Selected) -> Result<(), ExperimentError> {
    let Some(path) = path else { return Ok(()) };
    let mut ck = Checkpoint::from_params(params);
    ck.set_metadata("step", kept.step.to_string());
    ck.set_metadata("value", kept.value.to_string());
    ck.save(path)
        .map_err(|e| ExperimentError::Failed(format!("writing {}: {e}", path.display())))
}

fn resume_failed(path: &Path, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(format!(
        "resuming from {}: {e} (rerun with --redo to start afresh)",
        path.display()
    ))
}

/// The best parameters and their measurement from `<label>-best.safetensors`.
fn load_best(path: &Path, params: &[Param]) -> Result<(Selected, Vec<Tensor>), ExperimentError> {
    let ck = Checkpoint::load(path).map_err(|e| resume_failed(path, e))?;
    let step = ck
        .metadata_parsed("step")
        .map_err(|e| resume_failed(path, e))?;
    let value = ck
        .metadata_parsed("value")
        .map_err(|e| resume_failed(path, e))?;
    let values = params
        .iter()
        .map(|p| ck.check_compatible(p.name(), &p.get()).cloned())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| resume_failed(path, e))?;
    Ok((Selected { step, value }, values))
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use indicatif::ProgressBar;

    use flow_core::DType;
    use flow_freeform::{Latent, ResNetConfig};

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
        Checkpoint::load(dir.join("state/t-train.safetensors"))
            .unwrap()
            .metadata_parsed("seconds")
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
        let (seconds, kept) = train_selected(
            &ctx,
            "t",
            &m,
            &data(),
            loss.clone(),
            config(),
            &mut rng,
            &drift,
        )
        .unwrap();
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
        let (again, kept) =
            train_selected(&ctx, "t", &fresh, &data(), loss, config(), &mut rng, &drift).unwrap();
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
}
