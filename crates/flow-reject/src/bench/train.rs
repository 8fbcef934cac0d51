//! Training the classifier on the source domains with the workspace's training engine
//! ([`flow_core::train`]: Adam at a constant learning rate, per-step RNG streams): each step
//! draws one minibatch per source domain from its own stream, so a run is deterministic per
//! seed, and the objective is a pure `loss(model, batches, step, rng)`.

use flow_core::nn::Module;
use flow_core::train::{TrainConfig, TrainError, Trainer};
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

/// Builds (initialised from `seed`) and trains a classifier with the engine's seed `seed`;
/// returns it and the loss per step.
///
/// # Errors
/// [`TrainError::NonFinite`] if a step's loss or gradient is not finite (the engine stops
/// and the model keeps its last finite parameters).
pub fn train_classifier(
    config: &ClassifierConfig,
    objective: &Objective,
    bench: &RotatedDigits,
    settings: &TrainSettings,
    seed: u64,
) -> Result<(Classifier, Vec<f64>), TrainError> {
    let model = config.build(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    let engine = TrainConfig::new(settings.steps as u64, settings.lr).with_seed(seed);
    let mut trainer = Trainer::new(model.parameters(), engine);
    let report = trainer.fit(|step, rng| {
        let batches = sample_batches(&bench.sources, settings.batch_per_domain, rng);
        objective.loss(&model, &batches, step as usize, rng)
    })?;
    Ok((model, report.curves.loss))
}
