//! Typed errors for everything read from outside.

use std::path::PathBuf;

use crate::dtype::DType;

/// Why a checkpoint could not be written, read or applied. Nothing is changed when an error
/// is returned: parameters are only replaced after the whole checkpoint has been validated.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (truncated, corrupt header, ...).
    #[error("{path}: not a valid safetensors checkpoint: {message}")]
    Format {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor the model needs is absent.
    #[error("checkpoint has no tensor named `{name}`")]
    Missing {
        /// The parameter name.
        name: String,
    },
    /// A tensor has another shape than the model's parameter.
    #[error("tensor `{name}`: checkpoint shape {found:?} differs from the model's {expected:?}")]
    ShapeMismatch {
        /// The parameter name.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The checkpoint's shape.
        found: Vec<usize>,
    },
    /// A tensor has another dtype than the model's parameter.
    #[error("tensor `{name}`: checkpoint dtype {found} differs from the model's {expected}")]
    DtypeMismatch {
        /// The parameter name.
        name: String,
        /// The model's dtype.
        expected: DType,
        /// The checkpoint's dtype.
        found: DType,
    },
    /// A tensor is stored in a dtype flows does not use (only F32 and F64 are).
    #[error("tensor `{name}`: unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// The tensor name.
        name: String,
        /// The stored dtype, as safetensors names it.
        dtype: String,
    },
    /// A tensor holds NaN or infinity.
    #[error("tensor `{name}` holds non-finite values")]
    NonFinite {
        /// The tensor name.
        name: String,
    },
    /// A metadata entry is missing or malformed.
    #[error("metadata `{key}`: {message}")]
    Metadata {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}
