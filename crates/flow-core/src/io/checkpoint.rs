//! The [`Checkpoint`] container and atomic file writes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, View};

use super::error::CheckpointError;
use crate::data::Data;
use crate::dtype::DType;
use crate::nn::Param;
use crate::tensor::Tensor;

/// Named tensors and string metadata: model weights, optimiser state, step counters.
///
/// ```
/// use flow_core::{Tensor, DType, io::Checkpoint, nn::Param};
/// let p = Param::new("w", Tensor::ones(&[2, 3], DType::F32));
/// let mut ck = Checkpoint::from_params(&[p.clone()]);
/// ck.set_metadata("step", "7");
/// let bytes = ck.to_bytes();
/// let back = Checkpoint::from_bytes(&bytes, "<memory>").unwrap();
/// p.set(Tensor::zeros(&[2, 3], DType::F32));
/// back.restore_params(&[p.clone()]).unwrap();
/// assert_eq!(p.get().to_vec_f32(), vec![1.0; 6]);
/// assert_eq!(back.metadata("step").unwrap(), "7");
/// ```
#[derive(Clone, Default, Debug)]
pub struct Checkpoint {
    tensors: BTreeMap<String, Tensor>,
    metadata: BTreeMap<String, String>,
}

/// Little-endian bytes of a tensor, as safetensors stores them.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn to_bytes(t: &Tensor) -> Bytes {
    let (dtype, bytes) = match t.data() {
        Data::F32(a) => (Dtype::F32, a.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Data::F64(a) => (Dtype::F64, a.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    Bytes {
        dtype,
        shape: t.shape().to_vec(),
        bytes,
    }
}

fn from_view(
    name: &str,
    view: &safetensors::tensor::TensorView,
) -> Result<Tensor, CheckpointError> {
    let shape = view.shape().to_vec();
    let raw = view.data();
    let t = match view.dtype() {
        Dtype::F32 => Tensor::from_vec(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
            &shape,
        ),
        Dtype::F64 => Tensor::from_vec(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            &shape,
        ),
        other => {
            return Err(CheckpointError::UnsupportedDtype {
                name: name.into(),
                dtype: format!("{other:?}"),
            });
        }
    };
    Ok(t)
}

impl Checkpoint {
    /// An empty checkpoint.
    pub fn new() -> Checkpoint {
        Checkpoint::default()
    }

    /// The current values of `params`, under their names.
    pub fn from_params(params: &[Param]) -> Checkpoint {
        let mut ck = Checkpoint::new();
        ck.insert_params(params);
        ck
    }

    /// Adds the current values of `params` under their names.
    pub fn insert_params(&mut self, params: &[Param]) {
        for p in params {
            self.insert(p.name(), p.get().detach());
        }
    }

    /// Stores a tensor (replacing one of the same name).
    pub fn insert(&mut self, name: impl Into<String>, tensor: Tensor) {
        self.tensors.insert(name.into(), tensor.detach());
    }

    /// The tensor called `name`.
    ///
    /// # Errors
    /// [`CheckpointError::Missing`] if there is none.
    pub fn tensor(&self, name: &str) -> Result<&Tensor, CheckpointError> {
        self.tensors
            .get(name)
            .ok_or_else(|| CheckpointError::Missing { name: name.into() })
    }

    /// Names of all tensors, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(String::as_str).collect()
    }

    /// Sets a metadata entry.
    pub fn set_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.insert(key.into(), value.into());
    }

    /// A metadata entry.
    ///
    /// # Errors
    /// [`CheckpointError::Metadata`] if the key is absent.
    pub fn metadata(&self, key: &str) -> Result<&str, CheckpointError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| CheckpointError::Metadata {
                key: key.into(),
                message: "missing".into(),
            })
    }

    /// A metadata entry parsed as `T`.
    ///
    /// # Errors
    /// [`CheckpointError::Metadata`] if absent or unparsable.
    pub fn metadata_parsed<T: std::str::FromStr>(&self, key: &str) -> Result<T, CheckpointError> {
        let raw = self.metadata(key)?;
        raw.parse().map_err(|_| CheckpointError::Metadata {
            key: key.into(),
            message: format!("cannot parse {raw:?}"),
        })
    }

    /// Checks that a stored tensor fits `expected` (shape, dtype, finite values).
    ///
    /// # Errors
    /// The first mismatch found.
    pub fn check_compatible(
        &self,
        name: &str,
        expected: &Tensor,
    ) -> Result<&Tensor, CheckpointError> {
        let t = self.tensor(name)?;
        if t.shape() != expected.shape() {
            return Err(CheckpointError::ShapeMismatch {
                name: name.into(),
                expected: expected.shape().to_vec(),
                found: t.shape().to_vec(),
            });
        }
        if t.dtype() != expected.dtype() {
            return Err(CheckpointError::DtypeMismatch {
                name: name.into(),
                expected: expected.dtype(),
                found: t.dtype(),
            });
        }
        if !t.all_finite() {
            return Err(CheckpointError::NonFinite { name: name.into() });
        }
        Ok(t)
    }

    /// Loads the values of `params` by name. All parameters are validated before any is
    /// changed, so on error the model is untouched.
    ///
    /// # Errors
    /// [`CheckpointError::Missing`], [`CheckpointError::ShapeMismatch`],
    /// [`CheckpointError::DtypeMismatch`] or [`CheckpointError::NonFinite`], naming the parameter.
    pub fn restore_params(&self, params: &[Param]) -> Result<(), CheckpointError> {
        let values = params
            .iter()
            .map(|p| self.check_compatible(p.name(), &p.get()).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        for (p, v) in params.iter().zip(values) {
            p.set(v);
        }
        Ok(())
    }

    /// Serialises to safetensors bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes: Vec<(String, Bytes)> = self
            .tensors
            .iter()
            .map(|(k, t)| (k.clone(), to_bytes(t)))
            .collect();
        let meta: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        safetensors::serialize(bytes.iter().map(|(k, b)| (k.as_str(), b)), Some(meta))
            .expect("safetensors serialisation of valid tensors")
    }

    /// Parses safetensors bytes; `origin` names the source in errors.
    ///
    /// # Errors
    /// [`CheckpointError::Format`] for corrupt or truncated bytes,
    /// [`CheckpointError::UnsupportedDtype`] for dtypes other than F32/F64.
    pub fn from_bytes(
        bytes: &[u8],
        origin: impl Into<PathBuf>,
    ) -> Result<Checkpoint, CheckpointError> {
        let path = origin.into();
        let format = |e: safetensors::SafeTensorError| CheckpointError::Format {
            path: path.clone(),
            message: e.to_string(),
        };
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(format)?;
        let st = SafeTensors::deserialize(bytes).map_err(format)?;
        let mut ck = Checkpoint::new();
        for (name, view) in st.tensors() {
            let t = from_view(&name, &view)?;
            ck.tensors.insert(name, t);
        }
        if let Some(m) = meta.metadata() {
            ck.metadata = m.clone().into_iter().collect();
        }
        Ok(ck)
    }

    /// Writes the checkpoint atomically (temporary file in the same folder, then rename), so
    /// a crash never leaves a half-written file under `path`.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        write_atomically(path.as_ref(), &self.to_bytes())
    }

    /// Reads a checkpoint file.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] if unreadable, [`CheckpointError::Format`] if corrupt.
    pub fn load(path: impl AsRef<Path>) -> Result<Checkpoint, CheckpointError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.into(),
            source,
        })?;
        Checkpoint::from_bytes(&bytes, path)
    }
}

/// Writes `bytes` to `path` through a temporary sibling file and a rename.
///
/// # Errors
/// [`CheckpointError::Io`] naming the path.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.into(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

impl Checkpoint {
    /// The dtype of a stored tensor, if present.
    pub fn dtype_of(&self, name: &str) -> Option<DType> {
        self.tensors.get(name).map(Tensor::dtype)
    }
}
