//! Exact log-likelihoods for evaluation, from dense per-sample Jacobians (chunked over the
//! batch), always reported with the reconstruction error they rely on.
//!
//! References: FFF arXiv:2310.16624, §4.1/App. ("exact" decoder likelihood
//! `log p(x) = log p_Z(f(x)) − log|det J_g(f(x))|`, used for all reported NLLs); FIF
//! arXiv:2306.01843, Eq. (3) (`log p(x̂) = log p_Z(z) − ½ log det(J_gᵀ J_g)`).

use flow_core::{DType, Tensor, jacobian, no_grad};
use serde::{Deserialize, Serialize};

use crate::injective::rectangular_log_volume;
use crate::model::FreeFormFlow;

/// Which Jacobian the exact likelihood uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JacobianSide {
    /// `−log|det J_g(f(x))|` (reported by the papers; "safe": it is the density of samples).
    #[default]
    Decoder,
    /// `+log|det J_f(x)|` (agrees with the decoder version when `g = f⁻¹`).
    Encoder,
}

/// Per-sample exact evaluation (all `[batch]`, f64).
#[derive(Clone, Debug)]
pub struct ExactEval {
    /// `log p(x)` (for injective models: the on-manifold density of the projection `x̂`).
    pub log_prob: Tensor,
    /// `log p_Z(f(x))`.
    pub log_prob_latent: Tensor,
    /// The log-volume term: `log|det J_g(z)|` (decoder) or `log|det J_f(x)|` (encoder); for
    /// rectangular Jacobians `½ log det(JᵀJ)` (or `½ log det(J Jᵀ)`).
    pub log_volume: Tensor,
    /// `‖x − g(f(x))‖²` summed over dimensions: a likelihood is only trustworthy when small.
    pub reconstruction: Tensor,
    /// The latent codes `z = f(x)`.
    pub z: Tensor,
}

impl ExactEval {
    /// Mean negative log-likelihood.
    pub fn mean_nll(&self) -> f64 {
        -self.log_prob.mean_all().item()
    }
    /// Mean reconstruction error.
    pub fn mean_reconstruction(&self) -> f64 {
        self.reconstruction.mean_all().item()
    }
    /// Per-sample NLL in bgflow's convention `½‖z‖² + log|det J_g(z)|` (no normalising
    /// constant; used by the FFF Boltzmann-generator tables), `[batch]`.
    pub fn nll_bgflow(&self, model: &FreeFormFlow) -> Tensor {
        model
            .latent
            .energy(&self.z.to_dtype(DType::F64))
            .add(&self.log_volume)
    }
}

/// Per-sample Jacobians of a row-wise map, `[batch, m, n]`, by `n` forward-mode passes per
/// chunk of `chunk_size` rows, without recording a tape.
///
/// References: FFF arXiv:2310.16624, App. (exact Jacobians, configurable chunk size).
///
/// # Panics
/// If `chunk_size == 0` or `x` is not `[batch, n]`.
pub fn dense_jacobian(f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, chunk_size: usize) -> Tensor {
    assert!(
        chunk_size > 0,
        "dense_jacobian: chunk size must be positive"
    );
    assert_eq!(
        x.ndim(),
        2,
        "dense_jacobian: x {:?} is not [batch, n]",
        x.shape()
    );
    no_grad(|| {
        let b = x.dim(0);
        let parts: Vec<Tensor> = (0..b)
            .step_by(chunk_size)
            .map(|s| jacobian(f, &x.narrow(0, s, chunk_size.min(b - s)).detach()))
            .collect();
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::concat(&refs, 0)
    })
}

/// `log|det J|` for square `[batch, n, n]`, `½ log det(JᵀJ)` for tall and `½ log det(J Jᵀ)` for
/// wide Jacobians; computed in f64, `[batch]`.
///
/// References: FIF arXiv:2306.01843, Eq. (3); the official `compute_volume_change` (the ½ was
/// restored in commit f2114ed).
pub fn log_volume(j: &Tensor) -> Tensor {
    assert_eq!(
        j.ndim(),
        3,
        "log_volume: {:?} is not [batch, m, n]",
        j.shape()
    );
    let j = j.to_dtype(DType::F64);
    match j.dim(1).cmp(&j.dim(2)) {
        std::cmp::Ordering::Equal => j.slogdet().1,
        std::cmp::Ordering::Greater => rectangular_log_volume(&j),
        std::cmp::Ordering::Less => rectangular_log_volume(&j.t()),
    }
}

/// Exact log-likelihood of `x` (`[batch, D]`) with the Jacobian of `side`, computed in
/// chunks of `chunk_size` samples, without recording a tape.
///
/// References: FFF arXiv:2310.16624, §4.1 (decoder likelihood); FIF arXiv:2306.01843, §3.
///
/// # Panics
/// If `x` is not `[batch, D]`.
pub fn exact_log_prob(
    model: &FreeFormFlow,
    x: &Tensor,
    condition: Option<&Tensor>,
    side: JacobianSide,
    chunk_size: usize,
) -> ExactEval {
    assert!(
        x.ndim() == 2 && x.dim(1) == model.data_dim(),
        "exact_log_prob: x {:?} is not [batch, {}]",
        x.shape(),
        model.data_dim()
    );
    no_grad(|| {
        let z = model.encode(x, condition);
        let x1 = model.decode(&z, condition);
        let reconstruction = x.sub(&x1).square().sum_per_sample().to_dtype(DType::F64);
        let log_prob_latent = model.latent.log_prob(&z.to_dtype(DType::F64));
        let b = x.dim(0);
        let chunked = |input: &Tensor, net: &dyn Fn(&Tensor, Option<&Tensor>) -> Tensor| {
            let parts: Vec<Tensor> = (0..b)
                .step_by(chunk_size.max(1))
                .map(|s| {
                    let n = chunk_size.max(1).min(b - s);
                    let c = condition.map(|c| c.narrow(0, s, n));
                    let f = |u: &Tensor| net(u, c.as_ref());
                    log_volume(&dense_jacobian(&f, &input.narrow(0, s, n), n))
                })
                .collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            Tensor::concat(&refs, 0)
        };
        let (log_volume, log_prob) = match side {
            JacobianSide::Decoder => {
                let lv = chunked(&z, &|u, c| model.decode(u, c));
                (lv.clone(), log_prob_latent.sub(&lv))
            }
            JacobianSide::Encoder => {
                let lv = chunked(x, &|u, c| model.encode(u, c));
                (lv.clone(), log_prob_latent.add(&lv))
            }
        };
        ExactEval {
            log_prob,
            log_prob_latent,
            log_volume,
            reconstruction,
            z,
        }
    })
}
