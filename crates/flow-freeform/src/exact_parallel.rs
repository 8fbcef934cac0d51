//! Exact log-likelihoods on all cores: the chunks of [`exact_log_prob`] run on
//! `flow_core::parallel` threads, each on its own copy of the model rebuilt from the
//! [`ModelSpec`] and the weights (tensors are single-threaded, so the model itself cannot be
//! shared). Chunks are fixed by `chunk_size` and combined in order, so the result is
//! bit-identical for any thread count.
//!
//! References: FFF arXiv:2310.16624, §4.1/App. (chunked exact decoder likelihood).

use flow_core::io::Checkpoint;
use flow_core::nn::Module;
use flow_core::{DType, Tensor, parallel};

use crate::exact::{ExactEval, JacobianSide, exact_log_prob};
use crate::model::FreeFormFlow;
use crate::spec::ModelSpec;

/// A free-form flow in a form every thread can rebuild: its spec and its weights as
/// safetensors bytes.
#[derive(Clone, Debug)]
pub struct SharedModel {
    spec: ModelSpec,
    weights: Vec<u8>,
}

/// A row-major f64 copy of a `[batch, d]` tensor with its dtype (f32 → f64 → f32 is exact).
struct Rows {
    values: Vec<f64>,
    cols: usize,
    dtype: DType,
}

impl Rows {
    fn of(t: &Tensor) -> Rows {
        Rows {
            values: t.to_vec_f64(),
            cols: t.dim(1),
            dtype: t.dtype(),
        }
    }
    fn slice(&self, r: std::ops::Range<usize>) -> Tensor {
        let v = self.values[r.start * self.cols..r.end * self.cols].to_vec();
        Tensor::from_vec(v, &[r.len(), self.cols]).to_dtype(self.dtype)
    }
}

/// One chunk's [`ExactEval`] fields as plain vectors (which can cross threads).
struct ChunkEval {
    log_prob: Vec<f64>,
    log_prob_latent: Vec<f64>,
    log_volume: Vec<f64>,
    reconstruction: Vec<f64>,
    z: Vec<f64>,
}

impl SharedModel {
    /// Captures `model` (built from `spec`, possibly trained since).
    pub fn new(model: &FreeFormFlow, spec: &ModelSpec) -> SharedModel {
        SharedModel {
            spec: spec.clone(),
            weights: Checkpoint::from_params(&model.parameters()).to_bytes(),
        }
    }

    /// A fresh copy of the model on the calling thread.
    ///
    /// # Panics
    /// Never for a value made by [`SharedModel::new`] (the weights fit the spec's model).
    pub fn model(&self) -> FreeFormFlow {
        let model = self.spec.build();
        Checkpoint::from_bytes(&self.weights, "shared-model")
            .and_then(|ck| ck.restore_params(&model.parameters()))
            .expect("SharedModel: the captured weights fit the spec's model");
        model
    }

    /// [`exact_log_prob`] with its chunks of `chunk_size` rows on `flow_core::parallel`
    /// threads; equal to the serial version chunk by chunk.
    ///
    /// # Panics
    /// If `chunk_size == 0`, or `x` (or `condition`) is not `[batch, _]`.
    pub fn exact_log_prob(
        &self,
        x: &Tensor,
        condition: Option<&Tensor>,
        side: JacobianSide,
        chunk_size: usize,
    ) -> ExactEval {
        assert!(
            chunk_size > 0,
            "exact_log_prob: chunk size must be positive"
        );
        assert_eq!(
            x.ndim(),
            2,
            "exact_log_prob: x {:?} is not [batch, D]",
            x.shape()
        );
        let (xs, cs) = (Rows::of(x), condition.map(Rows::of));
        let chunks = parallel::map_chunks(x.dim(0), chunk_size, |_, r| {
            let model = self.model();
            let c = cs.as_ref().map(|c| c.slice(r.clone()));
            let e = exact_log_prob(&model, &xs.slice(r), c.as_ref(), side, chunk_size);
            ChunkEval {
                log_prob: e.log_prob.to_vec_f64(),
                log_prob_latent: e.log_prob_latent.to_vec_f64(),
                log_volume: e.log_volume.to_vec_f64(),
                reconstruction: e.reconstruction.to_vec_f64(),
                z: e.z.to_vec_f64(),
            }
        });
        let b = x.dim(0);
        let join = |part: fn(&ChunkEval) -> &Vec<f64>| -> Vec<f64> {
            chunks
                .iter()
                .flat_map(|c| part(c).iter().copied())
                .collect()
        };
        let z = join(|c| &c.z);
        let z_dim = z.len().checked_div(b).unwrap_or(0);
        ExactEval {
            log_prob: Tensor::from_vec(join(|c| &c.log_prob), &[b]),
            log_prob_latent: Tensor::from_vec(join(|c| &c.log_prob_latent), &[b]),
            log_volume: Tensor::from_vec(join(|c| &c.log_volume), &[b]),
            reconstruction: Tensor::from_vec(join(|c| &c.reconstruction), &[b]),
            z: Tensor::from_vec(z, &[b, z_dim]).to_dtype(self.spec.dtype),
        }
    }
}
