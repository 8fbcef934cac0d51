//! [`Trainer`]: the one training loop of the workspace.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::autodiff::grad;
use crate::io::Checkpoint;
use crate::nn::{Param, values};
use crate::optim::{Optimizer, clip_grad_norm};
use crate::tensor::Tensor;

use super::config::{NonFinitePolicy, TrainConfig};
use super::curves::Curves;
use super::progress::Progress;
use super::state;
use super::{NonFinite, ShardedGrad, StepLoss, StepRng, TrainError, TrainReport, step_rng};

/// The best validated parameters so far.
#[derive(Clone, Debug)]
pub(crate) struct Best {
    pub(crate) step: u64,
    pub(crate) value: f64,
    pub(crate) params: Vec<Tensor>,
}

/// What a step's closure computed: a loss to differentiate here, or (sharded steps,
/// [`Trainer::fit_sharded`]) the loss with its gradients already summed.
pub(super) enum Computed {
    Loss(StepLoss),
    Grads(ShardedGrad),
}

/// A completed step's numbers.
struct StepOutcome {
    loss: f64,
    grad_norm: f64,
    terms: Vec<(String, f64)>,
}

/// Trains a set of parameters on any scalar loss (see the [module docs](super)).
pub struct Trainer {
    pub(crate) params: Vec<Param>,
    pub(crate) config: TrainConfig,
    pub(crate) optimizer: Box<dyn Optimizer>,
    pub(crate) step: u64,
    pub(crate) earlier_seconds: f64,
    pub(crate) curves: Curves,
    pub(crate) best: Option<Best>,
    pub(crate) stopped_early: bool,
    pub(crate) buffers: Vec<(String, Tensor)>,
    /// Seconds spent in validation over the whole run (part of the elapsed time).
    pub(crate) validation_seconds: f64,
    /// How many times the run was resumed from a checkpoint.
    pub(crate) resumes: u64,
    cancel: Option<Arc<AtomicBool>>,
    last_checkpoint: Option<PathBuf>,
    resumed_from: Option<u64>,
}

fn snapshot(params: &[Param]) -> Vec<Tensor> {
    params.iter().map(Param::get).collect()
}

fn restore(params: &[Param], values: &[Tensor]) {
    for (p, v) in params.iter().zip(values) {
        p.set(v.clone());
    }
}

impl Trainer {
    /// A fresh run at step 0 over `params` (e.g. `model.parameters()`).
    ///
    /// # Panics
    /// If two parameters share a name (checkpoints and optimiser state are keyed by name), or
    /// if the config cycles the momentum without a one-cycle schedule.
    pub fn new(params: Vec<Param>, config: TrainConfig) -> Trainer {
        if let Some(cycle) = config.momentum_cycle {
            assert!(
                config.schedule.cycled_momentum(cycle, 0).is_some(),
                "Trainer::new: momentum cycling {cycle:?} needs a one-cycle schedule, not {:?}",
                config.schedule
            );
        }
        let mut names: Vec<&str> = params.iter().map(Param::name).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            panic!("Trainer::new: two parameters are named `{}`", w[0]);
        }
        Trainer {
            optimizer: config.optimizer.build(),
            params,
            config,
            step: 0,
            earlier_seconds: 0.0,
            curves: Curves::default(),
            best: None,
            stopped_early: false,
            buffers: Vec::new(),
            validation_seconds: 0.0,
            resumes: 0,
            cancel: None,
            last_checkpoint: None,
            resumed_from: None,
        }
    }

    /// Fixed, non-trained tensors of the model (permutations, rotations) that define it as
    /// much as its parameters. They are stored as `buffer.{name}`, and a resume checks them
    /// bit for bit, so a model rebuilt with another seed is refused instead of receiving
    /// weights trained for other buffers.
    pub fn with_buffers(mut self, buffers: Vec<(String, Tensor)>) -> Trainer {
        self.buffers = buffers;
        self
    }

    /// Stops training when `flag` becomes true (Ctrl-C): the step in progress completes, the
    /// state is checkpointed (if checkpoints are configured) so a rerun continues from it,
    /// and the fit returns [`TrainError::Cancelled`].
    pub fn with_cancel_flag(mut self, flag: Arc<AtomicBool>) -> Trainer {
        self.cancel = Some(flag);
        self
    }

    /// Continues the run stored at the configured checkpoint path, if that file exists.
    /// Returns the restored step, or `None` for a fresh run.
    ///
    /// # Errors
    /// As [`Trainer::resume_from`]; nothing is changed on error.
    pub fn resume_if_present(&mut self) -> Result<Option<u64>, TrainError> {
        match self.config.checkpoint.as_ref().map(|c| c.path.clone()) {
            Some(path) if path.exists() => self.resume_from(&path).map(Some),
            _ => Ok(None),
        }
    }

    /// Restores parameters, optimiser state, step, elapsed time, curves and best parameters
    /// from a checkpoint this trainer type wrote. Everything is read and validated into
    /// temporaries first; the trainer and the model change only when all of it loaded.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] for an unreadable file or tensors that do not fit the
    /// parameters; [`TrainError::Resume`] naming the field when the metadata contradicts the
    /// config (another seed, more steps than configured, a malformed time).
    pub fn resume_from(&mut self, path: &Path) -> Result<u64, TrainError> {
        let ck = Checkpoint::load(path)?;
        let loaded = state::Loaded::read(&ck, path, &self.params, &self.buffers, &self.config)?;
        let step = loaded.step;
        loaded.commit(self);
        self.last_checkpoint = Some(path.to_path_buf());
        self.resumed_from = Some(step);
        Ok(step)
    }

    /// Writes the full training state to `path` (atomically).
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if the file cannot be written.
    pub fn save(&self, path: &Path, seconds: f64) -> Result<(), TrainError> {
        state::training_checkpoint(self, seconds).save(path)?;
        Ok(())
    }

    /// Steps completed (skipped ones included).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The run's curves so far.
    pub fn curves(&self) -> &Curves {
        &self.curves
    }

    /// The config.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// `(step, metric)` of the best validation so far.
    pub fn best(&self) -> Option<(u64, f64)> {
        self.best.as_ref().map(|b| (b.step, b.value))
    }

    /// Sets the parameters to the best validated values; false if nothing was validated.
    pub fn restore_best(&self) -> bool {
        match &self.best {
            Some(best) => {
                restore(&self.params, &best.params);
                true
            }
            None => false,
        }
    }

    /// Runs until `config.steps` (or an early stop); `loss(step, rng)` builds the scalar loss
    /// of one step from that step's own random stream.
    ///
    /// # Errors
    /// [`TrainError::NonFinite`] as the [`NonFinitePolicy`] says (the model keeps the values
    /// from before the failing step); [`TrainError::Checkpoint`] if a write fails.
    pub fn fit<L: Into<StepLoss>>(
        &mut self,
        mut loss: impl FnMut(u64, &mut StepRng) -> L,
    ) -> Result<TrainReport, TrainError> {
        self.run(&mut |s, r| Computed::Loss(loss(s, r).into()), None)
    }

    /// As [`Trainer::fit`], and validates with `validate(steps_completed)` (lower is better)
    /// as [`TrainConfig::with_validation`] says (every step if no validation is configured),
    /// keeping the best parameters and stopping early after `patience` validations without a
    /// new best. The model ends with its last parameters: call [`Trainer::restore_best`].
    ///
    /// # Errors
    /// As [`Trainer::fit`].
    pub fn fit_validated<L: Into<StepLoss>>(
        &mut self,
        mut loss: impl FnMut(u64, &mut StepRng) -> L,
        mut validate: impl FnMut(u64) -> f64,
    ) -> Result<TrainReport, TrainError> {
        self.run(
            &mut |s, r| Computed::Loss(loss(s, r).into()),
            Some(&mut validate),
        )
    }

    /// As [`Trainer::fit`], but stops once `until` steps are complete (at most
    /// `config.steps`), so a caller can train in segments (to poll for cancellation, or to
    /// evaluate between them). The schedule and the random streams are those of the whole
    /// run, so segments give the same numbers as one call.
    ///
    /// # Errors
    /// As [`Trainer::fit`].
    pub fn fit_until<L: Into<StepLoss>>(
        &mut self,
        until: u64,
        mut loss: impl FnMut(u64, &mut StepRng) -> L,
    ) -> Result<TrainReport, TrainError> {
        self.run_to(until, &mut |s, r| Computed::Loss(loss(s, r).into()), None)
    }

    fn run(
        &mut self,
        loss: &mut dyn FnMut(u64, &mut StepRng) -> Computed,
        validate: Option<&mut dyn FnMut(u64) -> f64>,
    ) -> Result<TrainReport, TrainError> {
        self.run_to(self.config.steps, loss, validate)
    }

    pub(super) fn run_to(
        &mut self,
        until: u64,
        loss: &mut dyn FnMut(u64, &mut StepRng) -> Computed,
        mut validate: Option<&mut dyn FnMut(u64) -> f64>,
    ) -> Result<TrainReport, TrainError> {
        let start = Instant::now();
        let until = until.min(self.config.steps);
        let progress = Progress::new(self.config.progress.as_deref(), self.config.steps);
        if let Some(validate) = validate.as_deref_mut()
            && self.step == 0
            && self.curves.validation.is_empty()
        {
            self.validate_now(validate);
        }
        let mut consecutive = 0usize;
        while self.step < until && !self.stopped_early {
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst))
            {
                progress.finish();
                self.checkpoint_now(start)?;
                return Err(TrainError::Cancelled { step: self.step });
            }
            let s = self.step;
            match self.one_step(loss) {
                Ok(done) => {
                    consecutive = 0;
                    self.curves
                        .push_step(done.loss, done.grad_norm, &done.terms);
                }
                Err(quantity) => {
                    consecutive += 1;
                    let give_up = match self.config.non_finite {
                        NonFinitePolicy::Stop => true,
                        NonFinitePolicy::Skip { max_consecutive } => consecutive > max_consecutive,
                    };
                    if give_up {
                        progress.finish();
                        return Err(TrainError::NonFinite {
                            step: s,
                            quantity,
                            last_checkpoint: self.last_checkpoint.clone(),
                        });
                    }
                    self.curves.push_skipped(s);
                }
            }
            self.step += 1;
            if let Some(validate) = validate.as_deref_mut() {
                self.validate_if_due(validate);
            }
            self.checkpoint_if_due(start)?;
            progress.update(self.step, self.curves.recent_loss(50));
        }
        progress.finish();
        Ok(self.report(start))
    }

    fn one_step(
        &mut self,
        loss: &mut dyn FnMut(u64, &mut StepRng) -> Computed,
    ) -> Result<StepOutcome, NonFinite> {
        let s = self.step;
        let mut rng = step_rng(self.config.seed, s);
        self.optimizer
            .set_learning_rate(self.config.learning_rate_at(s));
        if let Some(momentum) = self.config.momentum_at(s) {
            self.optimizer.set_momentum(momentum);
        }
        let vals = values(&self.params);
        let (value, terms, grads) = match loss(s, &mut rng) {
            Computed::Loss(out) => {
                let value = out.loss.item();
                if !value.is_finite() {
                    return Err(NonFinite::Loss);
                }
                let grads = grad(&out.loss, &vals.iter().collect::<Vec<_>>());
                (value, out.terms, grads)
            }
            Computed::Grads(g) if !g.loss.is_finite() => return Err(NonFinite::Loss),
            Computed::Grads(g) => (g.loss, g.terms, g.grads),
        };
        let (grads, norm) =
            clip_grad_norm(&grads, self.config.clip_grad_norm.unwrap_or(f64::INFINITY));
        if !norm.is_finite() {
            return Err(NonFinite::GradientNorm);
        }
        self.optimizer.step(&self.params, &grads);
        if !self.params.iter().all(|p| p.get().all_finite()) {
            restore(&self.params, &vals);
            return Err(NonFinite::Parameters);
        }
        Ok(StepOutcome {
            loss: value,
            grad_norm: norm,
            terms,
        })
    }

    fn validate_if_due(&mut self, validate: &mut dyn FnMut(u64) -> f64) {
        let every = self.config.validation.map_or(1, |v| v.every);
        if self.step.is_multiple_of(every) || self.step == self.config.steps {
            self.validate_now(validate);
        }
    }

    /// Measures the metric now (the parameters before any step count as a candidate too).
    fn validate_now(&mut self, validate: &mut dyn FnMut(u64) -> f64) {
        let t = Instant::now();
        let metric = validate(self.step);
        self.validation_seconds += t.elapsed().as_secs_f64();
        self.curves.validation.push((self.step, metric));
        let improved = metric.is_finite() && self.best.as_ref().is_none_or(|b| metric < b.value);
        if improved {
            self.best = Some(Best {
                step: self.step,
                value: metric,
                params: snapshot(&self.params),
            });
        } else if let Some(patience) = self.config.validation.and_then(|v| v.patience) {
            let since_best = self.validations_since_best();
            self.stopped_early = since_best >= patience;
        }
    }

    /// Validations after the best one (all of them when none was finite).
    pub(crate) fn validations_since_best(&self) -> usize {
        let best_step = self.best.as_ref().map(|b| b.step);
        self.curves
            .validation
            .iter()
            .filter(|(s, _)| best_step.is_none_or(|b| *s > b))
            .count()
    }

    fn checkpoint_if_due(&mut self, start: Instant) -> Result<(), TrainError> {
        let Some(spec) = self.config.checkpoint.clone() else {
            return Ok(());
        };
        let due = self.step.is_multiple_of(spec.every)
            || self.step == self.config.steps
            || self.stopped_early;
        if due {
            self.checkpoint_now(start)?;
        }
        Ok(())
    }

    fn checkpoint_now(&mut self, start: Instant) -> Result<(), TrainError> {
        if let Some(spec) = self.config.checkpoint.clone() {
            let seconds = self.earlier_seconds + start.elapsed().as_secs_f64();
            self.save(&spec.path, seconds)?;
            self.last_checkpoint = Some(spec.path);
        }
        Ok(())
    }

    fn report(&self, start: Instant) -> TrainReport {
        let seconds = start.elapsed().as_secs_f64();
        TrainReport {
            steps: self.step,
            curves: self.curves.clone(),
            seconds,
            total_seconds: self.earlier_seconds + seconds,
            best: self.best(),
            stopped_early: self.stopped_early,
            resumed_from: self.resumed_from,
            validation_seconds: self.validation_seconds,
            resumes: self.resumes,
        }
    }
}
