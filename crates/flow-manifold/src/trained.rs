//! Evaluating a stored training run without training: [`load_trained`] puts the parameters of a
//! [`Trainer`](flow_core::train::Trainer) checkpoint (the file [`crate::train_mfff`] writes
//! every 1000 steps) into a model built with the same architecture, and reports which step
//! they are from.

use std::path::Path;

use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::Module;
use serde::{Deserialize, Serialize};

use crate::model::ManifoldFlow;

/// What a training checkpoint records about the parameters [`load_trained`] loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedCheckpoint {
    /// Steps the run had completed (`train.step`).
    pub step: u64,
    /// Steps the run was configured for (`steps` of `train.config`), when recorded.
    pub of: Option<u64>,
    /// `(step, validation value)` of the best validation, when the run validated: the loaded
    /// parameters are then those best ones (`best.*`), as [`crate::train_mfff`] restores at
    /// the end of a validated run; otherwise the parameters of `step`.
    pub best: Option<(u64, f64)>,
    /// Training seconds so far (`train.seconds`), when recorded.
    pub seconds: Option<f64>,
}

impl TrainedCheckpoint {
    /// Whether the run had completed all its configured steps.
    pub fn finished(&self) -> bool {
        self.of.is_some_and(|of| self.step >= of)
    }
}

/// Loads the trained parameters of the checkpoint at `path` into `model`: the best validated
/// ones (`best.{name}`) when the checkpoint holds a best validation, else the current ones
/// (`{name}`). Every parameter of the model must be stored with its shape and dtype, and the
/// checkpoint must hold no model tensor that the model lacks (another architecture); nothing
/// changes on error.
///
/// # Errors
/// [`CheckpointError`] for an unreadable file, a missing, misshapen or non-finite parameter
/// (named), malformed `train.*` metadata, or a stored network or base tensor
/// ([`CheckpointError::Format`]) that is no parameter of `model`.
pub fn load_trained(
    model: &ManifoldFlow,
    path: &Path,
) -> Result<TrainedCheckpoint, CheckpointError> {
    let ck = Checkpoint::load(path)?;
    let best = match ck.metadata("train.best_step") {
        Ok(_) => Some((
            ck.metadata_parsed::<u64>("train.best_step")?,
            ck.metadata_parsed::<f64>("train.best_value")?,
        )),
        Err(_) => None,
    };
    let prefix = if best.is_some() { "best." } else { "" };
    let params = model.parameters();
    let names: Vec<&str> = params.iter().map(|p| p.name()).collect();
    let stray = ck.names().into_iter().find(|n| {
        let own = !n.starts_with("optim.") && !n.starts_with("train.") && !n.starts_with("buffer.");
        let bare = n.strip_prefix("best.").unwrap_or(n);
        own && !names.contains(&bare)
    });
    if let Some(name) = stray {
        return Err(CheckpointError::Format {
            path: path.into(),
            message: format!(
                "tensor `{name}` is no parameter of the model (another architecture?)"
            ),
        });
    }
    let values = params
        .iter()
        .map(|p| {
            ck.check_compatible(&format!("{prefix}{}", p.name()), &p.get())
                .cloned()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let info = TrainedCheckpoint {
        step: ck.metadata_parsed("train.step")?,
        of: ck
            .metadata("train.config")
            .ok()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|c| c.get("steps")?.as_u64()),
        best,
        seconds: ck.metadata_parsed("train.seconds").ok(),
    };
    for (p, v) in params.iter().zip(values) {
        p.set(v);
    }
    Ok(info)
}
