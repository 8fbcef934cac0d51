//! The rotated-digits benchmark and its classifiers: data ([`RotatedDigits`]), the shared
//! MLP with penultimate features ([`Classifier`]), ERM and domain-generalisation objectives
//! ([`Objective`]), training ([`train_classifier`]) and the evaluation protocol
//! ([`evaluate`]).

mod classifier;
mod data;
mod evaluate;
mod objective;
mod summary;
mod train;

pub use classifier::{Classifier, ClassifierConfig};
pub use data::{LabeledSet, RotatedDigits, RotatedDigitsConfig, TargetDomain};
pub use evaluate::{ScoreRun, ScoredSet, correctness, evaluate};
pub use objective::{Objective, coral_penalty, cross_entropy, one_hot};
pub use summary::{
    OpenSummary, ProtocolConfig, ProtocolError, ScoreSummary, SeedSummary, SetSummary,
    run_protocol, summarize_set,
};
pub use train::{TrainSettings, sample_batches, train_classifier};
