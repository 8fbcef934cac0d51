//! Checkpoints: named tensors plus string metadata in the safetensors format (loads in
//! PyTorch with `safetensors.torch.load_file` and in JAX/numpy with `safetensors.numpy`),
//! written atomically.

mod checkpoint;
mod config;
mod error;

pub use checkpoint::{Checkpoint, write_atomically};
pub use config::{FORMAT_KEY, FORMAT_VERSION, load_model_file, save_model_file};
pub use error::CheckpointError;
