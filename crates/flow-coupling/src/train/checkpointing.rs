//! Checkpoints of flows and of training runs (safetensors, written atomically by flow-core).
//!
//! A flow checkpoint holds every parameter under its name and every fixed buffer
//! (permutations, fixed rotations, LU pivots) under `buffer.{name}`; loading checks the
//! buffers first, so a model rebuilt with another seed is rejected instead of silently
//! receiving mismatched weights. Training checkpoints are the engine's
//! ([`flow_core::train`]), which store the same `buffer.{name}` entries.

use std::path::Path;

use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::Module;

use crate::bijection::Bijection;
use crate::flow::Flow;

/// Tolerance for comparing stored buffers (they are exact copies; f32 buffers are widened).
const BUFFER_TOL: f64 = 0.0;

/// Parameters and buffers of `flow`.
pub fn flow_checkpoint(flow: &Flow) -> Checkpoint {
    let mut ck = Checkpoint::from_params(&flow.parameters());
    for (name, t) in flow.buffers() {
        ck.insert(format!("buffer.{name}"), t);
    }
    ck.set_metadata("flow.dim", flow.dim().to_string());
    ck
}

/// Checks the buffers, then restores the parameters (all validated before any is changed).
///
/// # Errors
/// [`CheckpointError::Missing`]/[`CheckpointError::ShapeMismatch`]/... for parameters;
/// [`CheckpointError::Metadata`] naming `buffer.{name}` if a buffer differs.
pub fn restore_flow(ck: &Checkpoint, flow: &Flow) -> Result<(), CheckpointError> {
    for (name, t) in flow.buffers() {
        let key = format!("buffer.{name}");
        let stored = ck.check_compatible(&key, &t)?;
        let same = stored
            .to_vec_f64()
            .iter()
            .zip(t.to_vec_f64())
            .all(|(a, b)| (a - b).abs() <= BUFFER_TOL);
        if !same {
            return Err(CheckpointError::Metadata {
                key,
                message: "differs from the model's (was it built with another seed or config?)"
                    .into(),
            });
        }
    }
    ck.restore_params(&flow.parameters())
}

/// Saves `flow` to `path` atomically.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_flow(flow: &Flow, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    flow_checkpoint(flow).save(path)
}

/// Loads parameters saved by [`save_flow`] (or a training checkpoint) into `flow`.
///
/// # Errors
/// As [`Checkpoint::load`] and [`restore_flow`].
pub fn load_flow(flow: &Flow, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    restore_flow(&Checkpoint::load(path)?, flow)
}
