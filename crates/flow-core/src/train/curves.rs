//! The record of a run: per-step loss, gradient norm and named loss terms, skipped steps, and
//! the validation curve. Stored in checkpoints as f64 tensors (`train.curve.*`), so a resumed
//! run continues its curves bit for bit and the file stays readable by PyTorch/JAX.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::io::{Checkpoint, CheckpointError};
use crate::tensor::Tensor;

/// The curves of a run. Index `i` of the per-step series is step `i` (0-based); a skipped
/// step holds NaN in every per-step series and its index in [`Curves::skipped`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// The loss of each step.
    pub loss: Vec<f64>,
    /// The global gradient norm of each step, before clipping.
    pub grad_norm: Vec<f64>,
    /// Named terms reported by the loss ([`super::StepLoss::with_term`]), per step.
    pub terms: BTreeMap<String, Vec<f64>>,
    /// Steps skipped under [`super::NonFinitePolicy::Skip`].
    pub skipped: Vec<u64>,
    /// `(steps completed, metric)` at each validation.
    pub validation: Vec<(u64, f64)>,
}

const PREFIX: &str = "train.curve.";

fn vector(ck: &Checkpoint, name: &str) -> Result<Vec<f64>, CheckpointError> {
    let t = ck.tensor(name)?;
    if t.ndim() != 1 {
        return Err(CheckpointError::ShapeMismatch {
            name: name.into(),
            expected: vec![t.len()],
            found: t.shape().to_vec(),
        });
    }
    Ok(t.to_vec_f64())
}

fn whole_steps(name: &str, values: Vec<f64>) -> Result<Vec<u64>, CheckpointError> {
    values
        .into_iter()
        .map(|v| {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 {
                Ok(v as u64)
            } else {
                Err(CheckpointError::Metadata {
                    key: name.into(),
                    message: format!("{v} is not a step number"),
                })
            }
        })
        .collect()
}

impl Curves {
    /// Steps recorded.
    pub fn len(&self) -> usize {
        self.loss.len()
    }

    /// Whether no step is recorded.
    pub fn is_empty(&self) -> bool {
        self.loss.is_empty()
    }

    /// Writes the curves into `ck` under `train.curve.*`.
    pub fn save(&self, ck: &mut Checkpoint) {
        let v = |x: &[f64]| Tensor::from_slice(x, &[x.len()]);
        ck.insert(format!("{PREFIX}loss"), v(&self.loss));
        ck.insert(format!("{PREFIX}grad_norm"), v(&self.grad_norm));
        let skipped: Vec<f64> = self.skipped.iter().map(|&s| s as f64).collect();
        ck.insert(format!("{PREFIX}skipped"), v(&skipped));
        let (steps, values): (Vec<f64>, Vec<f64>) =
            self.validation.iter().map(|&(s, m)| (s as f64, m)).unzip();
        ck.insert(format!("{PREFIX}validation_step"), v(&steps));
        ck.insert(format!("{PREFIX}validation"), v(&values));
        for (name, series) in &self.terms {
            ck.insert(format!("{PREFIX}term.{name}"), v(series));
        }
    }

    /// Reads curves written by [`Curves::save`] and checks that they describe `steps` steps.
    ///
    /// # Errors
    /// [`CheckpointError::Missing`] for an absent series, [`CheckpointError::Metadata`] when
    /// the lengths disagree with `steps` or a step number is malformed.
    pub fn load(ck: &Checkpoint, steps: u64) -> Result<Curves, CheckpointError> {
        let loss = vector(ck, &format!("{PREFIX}loss"))?;
        let grad_norm = vector(ck, &format!("{PREFIX}grad_norm"))?;
        let skipped = whole_steps("skipped", vector(ck, &format!("{PREFIX}skipped"))?)?;
        let vsteps = whole_steps(
            "validation_step",
            vector(ck, &format!("{PREFIX}validation_step"))?,
        )?;
        let vvalues = vector(ck, &format!("{PREFIX}validation"))?;
        let mut terms = BTreeMap::new();
        for name in ck.names() {
            if let Some(term) = name.strip_prefix(&format!("{PREFIX}term.")) {
                terms.insert(term.to_string(), vector(ck, name)?);
            }
        }
        let bad = |message: String| CheckpointError::Metadata {
            key: format!("{PREFIX}*"),
            message,
        };
        let n = steps as usize;
        if loss.len() != n || grad_norm.len() != n || terms.values().any(|t| t.len() != n) {
            return Err(bad(format!("per-step curves do not hold {steps} steps")));
        }
        if vsteps.len() != vvalues.len() || vsteps.iter().any(|&s| s > steps) {
            return Err(bad("validation steps and values do not match".into()));
        }
        if skipped.iter().any(|&s| s >= steps) {
            return Err(bad("a skipped step lies beyond the recorded steps".into()));
        }
        Ok(Curves {
            loss,
            grad_norm,
            terms,
            skipped,
            validation: vsteps.into_iter().zip(vvalues).collect(),
        })
    }

    /// Appends a skipped step (NaN in every series).
    pub(crate) fn push_skipped(&mut self, step: u64) {
        self.loss.push(f64::NAN);
        self.grad_norm.push(f64::NAN);
        for series in self.terms.values_mut() {
            series.push(f64::NAN);
        }
        self.skipped.push(step);
    }

    /// Appends a completed step; terms first seen now are back-filled with NaN.
    pub(crate) fn push_step(&mut self, loss: f64, grad_norm: f64, terms: &[(String, f64)]) {
        let before = self.loss.len();
        self.loss.push(loss);
        self.grad_norm.push(grad_norm);
        for (name, value) in terms {
            let series = self
                .terms
                .entry(name.clone())
                .or_insert_with(|| vec![f64::NAN; before]);
            series.push(*value);
        }
        for series in self.terms.values_mut() {
            if series.len() == before {
                series.push(f64::NAN);
            }
        }
    }

    /// The mean of the last `window` finite losses (None if there are none).
    pub fn recent_loss(&self, window: usize) -> Option<f64> {
        let recent: Vec<f64> = self
            .loss
            .iter()
            .rev()
            .filter(|v| v.is_finite())
            .take(window)
            .copied()
            .collect();
        (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
    }
}
