//! The training checkpoint: what a [`Trainer`] writes, and how it is read back without
//! changing anything until every part has loaded.
//!
//! Layout (safetensors): parameters under their names; optimiser state under `optim.*`; best
//! validated parameters under `best.{name}`; curves under `train.curve.*`; metadata
//! `train.step`, `train.seed`, `train.seconds`, `train.stopped_early`, `train.best_step`,
//! `train.best_value` and `train.config` (the [`TrainConfig`] as JSON, for the record).

use std::path::{Path, PathBuf};

use crate::io::Checkpoint;
use crate::nn::Param;
use crate::optim::Optimizer;
use crate::tensor::Tensor;

use super::TrainError;
use super::config::TrainConfig;
use super::curves::Curves;
use super::trainer::{Best, Trainer};

/// The checkpoint of `trainer` after `seconds` of training.
pub(crate) fn training_checkpoint(trainer: &Trainer, seconds: f64) -> Checkpoint {
    let mut ck = Checkpoint::from_params(&trainer.params);
    trainer.optimizer.save_state(&mut ck);
    trainer.curves.save(&mut ck);
    ck.set_metadata("train.step", trainer.step.to_string());
    ck.set_metadata("train.seed", trainer.config.seed.to_string());
    ck.set_metadata("train.seconds", seconds.to_string());
    ck.set_metadata("train.stopped_early", trainer.stopped_early.to_string());
    for (name, t) in &trainer.buffers {
        ck.insert(format!("buffer.{name}"), t.clone());
    }
    if let Ok(json) = serde_json::to_string(&trainer.config) {
        ck.set_metadata("train.config", json);
    }
    if let Some(best) = &trainer.best {
        for (p, v) in trainer.params.iter().zip(&best.params) {
            ck.insert(format!("best.{}", p.name()), v.clone());
        }
        ck.set_metadata("train.best_step", best.step.to_string());
        ck.set_metadata("train.best_value", best.value.to_string());
    }
    ck
}

/// Everything a checkpoint restores, validated but not yet applied.
pub(crate) struct Loaded {
    pub(crate) step: u64,
    seconds: f64,
    stopped_early: bool,
    curves: Curves,
    values: Vec<Tensor>,
    optimizer: Box<dyn Optimizer>,
    best: Option<Best>,
}

fn field<T: std::str::FromStr>(ck: &Checkpoint, path: &Path, key: &str) -> Result<T, TrainError> {
    let raw = ck.metadata(key)?;
    raw.parse()
        .map_err(|_| resume_error(path, key, format!("cannot parse {raw:?}")))
}

fn resume_error(path: &Path, field: &str, message: String) -> TrainError {
    TrainError::Resume {
        path: PathBuf::from(path),
        field: field.into(),
        message,
    }
}

/// Checks that the stored buffers equal the model's bit for bit.
fn check_buffers(
    ck: &Checkpoint,
    path: &Path,
    buffers: &[(String, Tensor)],
) -> Result<(), TrainError> {
    for (name, t) in buffers {
        let key = format!("buffer.{name}");
        let stored = ck.check_compatible(&key, t)?;
        if stored.to_vec_f64() != t.to_vec_f64() {
            return Err(resume_error(
                path,
                &key,
                "differs from the model's (was it built with another seed or config?)".into(),
            ));
        }
    }
    Ok(())
}

impl Loaded {
    /// Reads and validates every part of a training checkpoint against the parameters and
    /// the config.
    pub(crate) fn read(
        ck: &Checkpoint,
        path: &Path,
        params: &[Param],
        buffers: &[(String, Tensor)],
        config: &TrainConfig,
    ) -> Result<Loaded, TrainError> {
        let step: u64 = field(ck, path, "train.step")?;
        if step > config.steps {
            return Err(resume_error(
                path,
                "train.step",
                format!("{step} steps done, but the run has only {}", config.steps),
            ));
        }
        let seed: u64 = field(ck, path, "train.seed")?;
        if seed != config.seed {
            return Err(resume_error(
                path,
                "train.seed",
                format!("written with seed {seed}, the run uses {}", config.seed),
            ));
        }
        let seconds: f64 = field(ck, path, "train.seconds")?;
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(resume_error(
                path,
                "train.seconds",
                format!("{seconds} is not a duration"),
            ));
        }
        let stopped_early: bool = field(ck, path, "train.stopped_early")?;
        check_buffers(ck, path, buffers)?;
        let curves = Curves::load(ck, step)?;
        let values = params
            .iter()
            .map(|p| ck.check_compatible(p.name(), &p.get()).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let mut optimizer = config.optimizer.build();
        if step > 0 {
            optimizer.load_state(ck, params)?;
        }
        let best = Self::read_best(ck, path, params, step)?;
        Ok(Loaded {
            step,
            seconds,
            stopped_early,
            curves,
            values,
            optimizer,
            best,
        })
    }

    fn read_best(
        ck: &Checkpoint,
        path: &Path,
        params: &[Param],
        step: u64,
    ) -> Result<Option<Best>, TrainError> {
        if ck.metadata("train.best_step").is_err() {
            return Ok(None);
        }
        let best_step: u64 = field(ck, path, "train.best_step")?;
        if best_step > step {
            return Err(resume_error(
                path,
                "train.best_step",
                format!("{best_step} > {step}"),
            ));
        }
        let value: f64 = field(ck, path, "train.best_value")?;
        let params = params
            .iter()
            .map(|p| {
                ck.check_compatible(&format!("best.{}", p.name()), &p.get())
                    .cloned()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Best {
            step: best_step,
            value,
            params,
        }))
    }

    /// Applies the loaded state (cannot fail).
    pub(crate) fn commit(self, trainer: &mut Trainer) {
        for (p, v) in trainer.params.iter().zip(self.values) {
            p.set(v);
        }
        trainer.optimizer = self.optimizer;
        trainer.step = self.step;
        trainer.earlier_seconds = self.seconds;
        trainer.stopped_early = self.stopped_early;
        trainer.curves = self.curves;
        trainer.best = self.best;
    }
}
