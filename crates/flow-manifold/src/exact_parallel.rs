//! Exact manifold log-likelihoods on all cores: the chunks of [`exact_log_prob`] (dense
//! ambient Jacobians restricted to tangent bases, `log|det(Rᵀ J Q)|` plus the metric term) run
//! on `flow_core::parallel` threads, each on its own copy of the model rebuilt from a
//! [`ModelSpec`] and a snapshot of the weights (tensors and the manifold are `Rc`-based, so the
//! model itself cannot cross threads). Chunk `k` draws its tangent bases from
//! `chunk_rng(seed, k)`, and chunks are fixed by the chunk size and joined in order, so the
//! result is bit-identical for any thread count (the pattern of
//! `flow_freeform::exact_parallel`).
//!
//! References: arXiv:2312.09852, §3 (exact volume change on M); the official `m_fff.py`
//! chunked exact likelihood.

use flow_core::io::Checkpoint;
use flow_core::nn::Module;
use flow_core::{Tensor, parallel};

use crate::exact::{ManifoldExact, Side, exact_log_prob};
use crate::model::ManifoldFlow;
use crate::spec::ModelSpec;

/// An M-FFF model in a form every thread can rebuild: the spec of its architecture and its
/// parameters (networks and a learnable base) as safetensors bytes. The spec's seed does not
/// matter: every parameter is overwritten by the snapshot.
#[derive(Clone, Debug)]
pub struct SharedFlow {
    spec: ModelSpec,
    weights: Vec<u8>,
}

/// One chunk's [`ManifoldExact`] fields as plain vectors (which can cross threads).
struct ChunkExact {
    log_prob: Vec<f64>,
    log_prob_latent: Vec<f64>,
    log_volume: Vec<f64>,
    reconstruction: Vec<f64>,
}

impl SharedFlow {
    /// Captures `model`, whose architecture `spec` describes (possibly trained since).
    ///
    /// # Panics
    /// If `spec` cannot build a model whose parameters have the names and shapes of
    /// `model`'s (a programmer error: the spec must describe the model).
    pub fn new(model: &ManifoldFlow, spec: &ModelSpec) -> SharedFlow {
        let shared = SharedFlow {
            spec: spec.clone(),
            weights: Checkpoint::from_params(&model.parameters()).to_bytes(),
        };
        drop(shared.model());
        shared
    }

    /// A fresh copy of the model on the calling thread.
    ///
    /// # Panics
    /// If the spec does not describe the captured weights (see [`SharedFlow::new`]).
    pub fn model(&self) -> ManifoldFlow {
        let model = self
            .spec
            .build()
            .unwrap_or_else(|e| panic!("SharedFlow: spec {:?} cannot build: {e}", self.spec));
        Checkpoint::from_bytes(&self.weights, "shared-flow")
            .and_then(|ck| ck.restore_params(&model.parameters()))
            .unwrap_or_else(|e| panic!("SharedFlow: the weights do not fit {:?}: {e}", self.spec));
        model
    }

    /// [`exact_log_prob`] of the captured model on `x` (`[batch, m]`, points of M) with its
    /// chunks of `chunk` rows on `flow_core::parallel` threads; chunk `k` uses
    /// `chunk_rng(seed, k)` for its tangent bases. Equal to the serial version called chunk by
    /// chunk with those generators, and bit-identical for any thread count.
    ///
    /// # Panics
    /// If `chunk == 0`, or `x` is not `[batch, m]` points of the manifold.
    pub fn exact_log_prob(&self, x: &Tensor, side: Side, chunk: usize, seed: u64) -> ManifoldExact {
        assert!(
            chunk > 0,
            "SharedFlow::exact_log_prob: chunk size must be positive"
        );
        assert_eq!(
            x.ndim(),
            2,
            "SharedFlow::exact_log_prob: x {:?} is not [batch, m]",
            x.shape()
        );
        let (values, cols, dtype) = (x.to_vec_f64(), x.dim(1), x.dtype());
        let chunks = parallel::map_chunks(x.dim(0), chunk, |k, r| {
            let model = self.model();
            let rows = values[r.start * cols..r.end * cols].to_vec();
            let xk = Tensor::from_vec(rows, &[r.len(), cols]).to_dtype(dtype);
            let mut rng = parallel::chunk_rng(seed, k);
            let e = exact_log_prob(&model, &xk, side, chunk, &mut rng);
            ChunkExact {
                log_prob: e.log_prob.to_vec_f64(),
                log_prob_latent: e.log_prob_latent.to_vec_f64(),
                log_volume: e.log_volume.to_vec_f64(),
                reconstruction: e.reconstruction.to_vec_f64(),
            }
        });
        let b = x.dim(0);
        let join = |part: fn(&ChunkExact) -> &Vec<f64>| -> Tensor {
            let v: Vec<f64> = chunks
                .iter()
                .flat_map(|c| part(c).iter().copied())
                .collect();
            Tensor::from_vec(v, &[b])
        };
        ManifoldExact {
            log_prob: join(|c| &c.log_prob),
            log_prob_latent: join(|c| &c.log_prob_latent),
            log_volume: join(|c| &c.log_volume),
            reconstruction: join(|c| &c.reconstruction),
        }
    }
}
