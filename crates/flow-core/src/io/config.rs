//! Self-describing checkpoints: a model's typed config stored beside its weights, so a file
//! alone rebuilds the model (`flow_coupling::load_model`, `flow_freeform::load_model`).
//!
//! The config is JSON in the safetensors metadata (the weights stay loadable by PyTorch/JAX,
//! which ignore metadata), tagged with the workspace's checkpoint format version.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::checkpoint::Checkpoint;
use super::error::CheckpointError;

/// Metadata key of the checkpoint format version.
pub const FORMAT_KEY: &str = "flows.format";
/// The checkpoint format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

impl Checkpoint {
    /// Stores `config` as JSON under `key` and marks the file with [`FORMAT_VERSION`].
    ///
    /// ```
    /// use flow_core::io::Checkpoint;
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Net { width: usize }
    /// let mut ck = Checkpoint::new();
    /// ck.set_config("model", &Net { width: 8 });
    /// let back = Checkpoint::from_bytes(&ck.to_bytes(), "<memory>").unwrap();
    /// assert_eq!(back.config::<Net>("model").unwrap(), Net { width: 8 });
    /// let err = back.config::<(String, u8)>("model").unwrap_err().to_string();
    /// assert!(err.contains("model"), "{err}");
    /// ```
    ///
    /// # Panics
    /// If `config` does not serialise to JSON (maps with non-string keys: a programmer error).
    pub fn set_config<T: Serialize>(&mut self, key: &str, config: &T) {
        let json = serde_json::to_string(config)
            .unwrap_or_else(|e| panic!("Checkpoint::set_config({key}): {e}"));
        self.set_metadata(key, json);
        self.set_metadata(FORMAT_KEY, FORMAT_VERSION.to_string());
    }

    /// The typed config stored under `key`, after checking the format version.
    ///
    /// # Errors
    /// [`CheckpointError::Metadata`] naming `flows.format` for another format version, or
    /// naming `key` when the entry is missing or does not parse (the message names the field,
    /// e.g. ``missing field `hidden` ``).
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T, CheckpointError> {
        let version: u32 = self.metadata_parsed(FORMAT_KEY)?;
        if version != FORMAT_VERSION {
            return Err(CheckpointError::Metadata {
                key: FORMAT_KEY.into(),
                message: format!("format {version}, this build reads {FORMAT_VERSION}"),
            });
        }
        let raw = self.metadata(key)?;
        serde_json::from_str(raw).map_err(|e| CheckpointError::Metadata {
            key: key.into(),
            message: e.to_string(),
        })
    }
}

/// Saves `params` with the spec that built them under metadata `key`, atomically: the one
/// "self-describing model file" format that every crate's `save_model` uses.
///
/// # Errors
/// [`CheckpointError::Io`] if the file cannot be written.
pub fn save_model_file<S: Serialize>(
    params: &[crate::nn::Param],
    key: &str,
    spec: &S,
    path: impl AsRef<std::path::Path>,
) -> Result<(), CheckpointError> {
    let mut ck = Checkpoint::from_params(params);
    ck.set_config(key, spec);
    ck.save(path)
}

/// Reads a [`save_model_file`] file: parses the spec under `key`, rebuilds the model with
/// `build` (which may reject an inconsistent spec with a typed error) and loads the weights
/// into the parameters `params` lists.
///
/// # Errors
/// [`CheckpointError::Metadata`] when the spec is missing, of another format version or
/// unparsable; whatever `build` returns; tensor errors when the weights do not fit.
pub fn load_model_file<S: DeserializeOwned, M>(
    path: impl AsRef<std::path::Path>,
    key: &str,
    build: impl FnOnce(&S) -> Result<M, CheckpointError>,
    params: impl FnOnce(&M) -> Vec<crate::nn::Param>,
) -> Result<(M, S), CheckpointError> {
    let ck = Checkpoint::load(path)?;
    let spec: S = ck.config(key)?;
    let model = build(&spec)?;
    ck.restore_params(&params(&model))?;
    Ok((model, spec))
}
