//! Minibatch training of the classifier on the source domains (Adam, constant learning rate):
//! each step draws one minibatch per source domain from the step's own RNG stream (seeded by
//! `(seed, step)`), so a run is deterministic per seed and a step can be replayed alone.
//!
//! This is a local loop until `flow_core::train` (the workspace's one training engine) lands;
//! the objective is already a pure `loss(model, batches, step, rng)`, so switching is local.

use flow_core::grad;
use flow_core::nn::{Module, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::classifier::{Classifier, ClassifierConfig};
use super::data::{LabeledSet, RotatedDigits};
use super::objective::Objective;

/// Optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Adam steps.
    pub steps: usize,
    /// Minibatch size per source domain.
    pub batch_per_domain: usize,
    /// Learning rate (1e-3).
    pub lr: f64,
}

/// The RNG of step `step` of the run seeded by `seed` (independent streams per step).
pub fn step_rng(seed: u64, step: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step as u64)
}

/// One minibatch (uniform, with replacement) from each source domain.
pub fn sample_batches<R: Rng + ?Sized>(
    sources: &[LabeledSet],
    batch: usize,
    rng: &mut R,
) -> Vec<LabeledSet> {
    sources
        .iter()
        .map(|s| {
            let idx: Vec<usize> = (0..batch).map(|_| rng.random_range(0..s.len())).collect();
            LabeledSet {
                images: s.images.index_select(0, &idx),
                labels: idx.iter().map(|&i| s.labels[i]).collect(),
            }
        })
        .collect()
}

/// Builds (init from `seed`) and trains a classifier; returns it and the loss per step.
///
/// # Panics
/// If a loss becomes non-finite (a bug in the objective or settings, not in external data:
/// the images are vendored and checked).
pub fn train_classifier(
    config: &ClassifierConfig,
    objective: &Objective,
    bench: &RotatedDigits,
    settings: &TrainSettings,
    seed: u64,
) -> (Classifier, Vec<f64>) {
    let model = config.build(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    let params = model.parameters();
    let mut opt = Adam::new(AdamConfig::new(settings.lr));
    let mut losses = Vec::with_capacity(settings.steps);
    for step in 0..settings.steps {
        let mut rng = step_rng(seed, step);
        let batches = sample_batches(&bench.sources, settings.batch_per_domain, &mut rng);
        let loss = objective.loss(&model, &batches, step, &mut rng);
        let value = loss.item();
        assert!(value.is_finite(), "train_classifier: loss {value} at step {step}");
        let vals = values(&params);
        let grads = grad(&loss, &vals.iter().collect::<Vec<_>>());
        opt.step(&params, &grads);
        losses.push(value);
    }
    (model, losses)
}
