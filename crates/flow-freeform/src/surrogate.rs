//! The free-form volume-change surrogate and the FFF training loss.
//!
//! References: FFF arXiv:2310.16624, Thm. 3.1 / Eq. (7) (`∇θ log|det J_f| = tr((∇θ J_f) J_f⁻¹)`),
//! Eq. (8) (Hutchinson with `J_f⁻¹ ≈ J_g`), Eq. (9) (surrogate `vᵀ J_f(x) sg(J_g(z) v)`) and
//! Eq. (10) (loss `−log p_Z(f(x)) − S + β‖x − g(f(x))‖²`).

use flow_core::{Tensor, jvp, vjp_with_graph};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::hutchinson::{HutchinsonSampler, sample_like};
use crate::injective::decoder_log_volume;
use crate::model::FreeFormFlow;

/// How the θ-gradient of the surrogate is obtained; both give the same gradient to round-off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Differentiation {
    /// `vᵀ J_f(x)` by a recorded VJP, differentiated again (reverse-over-reverse, as the
    /// official code).
    #[default]
    ReverseOverReverse,
    /// `⟨v, J_f(x) c⟩` with `c = sg(J_g(z) v)` by an extra encoder pass with tangents,
    /// differentiated in reverse (reverse-over-forward).
    ReverseOverForward,
}

/// The outputs of [`volume_change_surrogate`].
#[derive(Clone, Debug)]
pub struct SurrogateOutput {
    /// `z = f(x)`, `[batch, d]`, on the tape.
    pub z: Tensor,
    /// `x̂ = g(z)`, `[batch, D]`, on the tape (for the reconstruction loss).
    pub reconstruction: Tensor,
    /// `S(x) = (1/K) Σ_k v_kᵀ J_f(x) sg(J_g(z) v_k)`, `[batch]`. Its θ-gradient estimates
    /// `∇θ log|det J_f(x)|`; its value is not a log-determinant.
    pub surrogate: Tensor,
}

/// Computes `z = f(x)`, `x̂ = g(z)` and the surrogate `S` for Hutchinson vectors `vs` (each
/// shaped like z). Only the encoder receives gradient from `S` (the decoder term is detached).
///
/// References: FFF arXiv:2310.16624, Eq. (9); FIF arXiv:2306.01843, §3.2 (v in the latent,
/// encoder Jacobian at the data point x).
///
/// # Panics
/// If `vs` is empty or a vector's shape differs from z's.
pub fn volume_change_surrogate(
    encode: &dyn Fn(&Tensor) -> Tensor,
    decode: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    vs: &[Tensor],
    differentiation: Differentiation,
) -> SurrogateOutput {
    assert!(
        !vs.is_empty(),
        "volume_change_surrogate: no Hutchinson vector"
    );
    let x = x.detach().requires_grad();
    let z = encode(&x);
    let k = vs.len() as f64;
    let mut reconstruction = None;
    let mut total: Option<Tensor> = None;
    for v in vs {
        assert_eq!(
            v.shape(),
            z.shape(),
            "volume_change_surrogate: v {:?} differs from z {:?}",
            v.shape(),
            z.shape()
        );
        // J_g(z) v by forward mode; z keeps its reverse graph so x̂ stays differentiable.
        let (x1, jg_v) = jvp(decode, &z, v);
        let c = jg_v.detach();
        let s = match differentiation {
            Differentiation::ReverseOverReverse => {
                let vt_jf = vjp_with_graph(&z, &[&x], v).remove(0);
                vt_jf.mul(&c).sum_per_sample()
            }
            Differentiation::ReverseOverForward => {
                let (_, jf_c) = jvp(encode, &x.detach(), &c);
                jf_c.mul(v).sum_per_sample()
            }
        };
        total = Some(match total {
            Some(t) => t.add(&s),
            None => s,
        });
        reconstruction.get_or_insert(x1);
    }
    SurrogateOutput {
        z,
        reconstruction: reconstruction.expect("at least one vector"),
        surrogate: total.expect("at least one vector").mul_scalar(1.0 / k),
    }
}

/// Which volume-change term the loss uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeTerm {
    /// The free-form surrogate `vᵀ J_f(x) sg(J_g(z) v)`: gradient to the encoder only, encoder
    /// Jacobian at the data point x (for injective models the paper's stable objective).
    #[default]
    Surrogate,
    /// Naive maximum likelihood through the decoder: the exact `½ log det(J_g(z)ᵀ J_g(z))` at
    /// `z = f(x)` (`log|det J_g|` when `d = D`) from `d` recorded JVPs, differentiated into both
    /// networks. For injective models this is the objective the FIF paper calls unstable
    /// (FIF arXiv:2306.01843, §4); costs `d` decoder JVPs.
    DecoderExact,
}

/// Weights of optional extra reconstruction terms (0 switches a term off).
///
/// References: the official `fff/base.py::compute_metrics` loss keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraTerms {
    /// `‖z − f(g(z))‖²` (latent reconstruction; x̂ not detached).
    pub z_reconstruction: f64,
    /// `‖z_s − f(g(z_s))‖²` with `z_s ~ p_Z` (latent-sample reconstruction).
    pub z_sample_reconstruction: f64,
    /// `‖x_s − g(f(x_s))‖²` with `x_s ~ p_Z` used as a data point (dimension-preserving only).
    pub x_sample_reconstruction: f64,
}

/// Configuration of the free-form loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FffLossConfig {
    /// Reconstruction weight β (`noisy_reconstruction`); the sum runs over dimensions.
    pub beta: f64,
    /// Weight of the NLL term (ramped by a warm-up; 1 otherwise).
    pub nll_weight: f64,
    /// Hutchinson vectors K per sample (1 in every official config).
    pub hutchinson_samples: usize,
    /// How the vectors are drawn.
    pub sampler: HutchinsonSampler,
    /// How the surrogate is differentiated.
    pub differentiation: Differentiation,
    /// Standard deviation of Gaussian noise added to the data (0: none).
    pub noise: f64,
    /// Extra reconstruction terms.
    pub extra: ExtraTerms,
    /// The volume-change term (the surrogate unless a naive baseline is wanted).
    #[serde(default)]
    pub volume: VolumeTerm,
}

impl FffLossConfig {
    /// K = 1 QR vector, reverse-over-reverse, no noise, no extra terms.
    pub fn new(beta: f64) -> Self {
        FffLossConfig {
            beta,
            nll_weight: 1.0,
            hutchinson_samples: 1,
            sampler: HutchinsonSampler::Qr,
            differentiation: Differentiation::ReverseOverReverse,
            noise: 0.0,
            extra: ExtraTerms::default(),
            volume: VolumeTerm::Surrogate,
        }
    }
    /// Sets the volume-change term.
    pub fn with_volume(mut self, volume: VolumeTerm) -> Self {
        self.volume = volume;
        self
    }
    /// Sets the number of Hutchinson vectors.
    pub fn with_hutchinson_samples(mut self, k: usize) -> Self {
        self.hutchinson_samples = k;
        self
    }
    /// Sets the data noise.
    pub fn with_noise(mut self, noise: f64) -> Self {
        self.noise = noise;
        self
    }
    /// Sets the extra terms.
    pub fn with_extra(mut self, extra: ExtraTerms) -> Self {
        self.extra = extra;
        self
    }
    /// Sets the differentiation path.
    pub fn with_differentiation(mut self, d: Differentiation) -> Self {
        self.differentiation = d;
        self
    }
}

/// The terms of one loss evaluation (per-sample tensors are `[batch]`).
#[derive(Clone, Debug)]
pub struct LossTerms {
    /// The scalar to minimise: `nll_weight · mean(nll) + β · mean(reconstruction) + extras`.
    pub loss: Tensor,
    /// Surrogate NLL `−log p_Z(z) − S` (not a likelihood: see [`crate::exact`]).
    pub nll: Tensor,
    /// `‖x − g(f(x))‖²` summed over dimensions.
    pub reconstruction: Tensor,
    /// `log p_Z(f(x))`.
    pub log_prob_latent: Tensor,
    /// The surrogate S (with [`VolumeTerm::DecoderExact`]: `−½ log det(J_gᵀ J_g)`, so that
    /// `nll = −log p_Z − S` is then the exact on-manifold NLL).
    pub surrogate: Tensor,
    /// Weighted sum of the extra terms (batch mean), a scalar.
    pub extra: Tensor,
}

fn sq_dist(a: &Tensor, b: &Tensor) -> Tensor {
    a.sub(b).square().sum_per_sample()
}

/// The free-form loss `β‖x − g(f(x))‖² − log p_Z(f(x)) − S(x)` (batch mean), plus extras.
/// Works unchanged for injective models (then v lives in the latent, see [`crate::injective`]).
///
/// References: FFF arXiv:2310.16624, Eq. (10); FIF arXiv:2306.01843, Eq. (12) (encoder at x).
///
/// # Panics
/// If `x` is not `[batch, D]`, or `x_sample_reconstruction > 0` for an injective model.
pub fn fff_loss<R: Rng + ?Sized>(
    model: &FreeFormFlow,
    x: &Tensor,
    condition: Option<&Tensor>,
    config: &FffLossConfig,
    rng: &mut R,
) -> LossTerms {
    assert!(
        x.ndim() == 2 && x.dim(1) == model.data_dim(),
        "fff_loss: x {:?} is not [batch, {}]",
        x.shape(),
        model.data_dim()
    );
    let x = if config.noise > 0.0 {
        x.add(&Tensor::randn(x.shape(), x.dtype(), rng).mul_scalar(config.noise))
    } else {
        x.detach()
    };
    let encode = |x: &Tensor| model.encode(x, condition);
    let decode = |z: &Tensor| model.decode(z, condition);
    let z_shape = [x.dim(0), model.latent_dim()];
    let out = match config.volume {
        VolumeTerm::Surrogate => {
            let probe = Tensor::zeros(&z_shape, x.dtype());
            let vs = sample_like(&probe, config.hutchinson_samples, config.sampler, rng);
            volume_change_surrogate(&encode, &decode, &x, &vs, config.differentiation)
        }
        VolumeTerm::DecoderExact => {
            let z = encode(&x);
            let (reconstruction, log_volume) = decoder_log_volume(&decode, &z);
            SurrogateOutput {
                z,
                reconstruction,
                surrogate: log_volume.neg(),
            }
        }
    };
    let log_prob_latent = model.latent.log_prob(&out.z);
    let nll = log_prob_latent.neg().sub(&out.surrogate);
    let reconstruction = sq_dist(&x, &out.reconstruction);
    let extra = extra_terms(model, &out, condition, &config.extra, rng);
    let loss = nll
        .mean_all()
        .mul_scalar(config.nll_weight)
        .add(&reconstruction.mean_all().mul_scalar(config.beta))
        .add(&extra);
    LossTerms {
        loss,
        nll,
        reconstruction,
        log_prob_latent,
        surrogate: out.surrogate,
        extra,
    }
}

fn extra_terms<R: Rng + ?Sized>(
    model: &FreeFormFlow,
    out: &SurrogateOutput,
    c: Option<&Tensor>,
    w: &ExtraTerms,
    rng: &mut R,
) -> Tensor {
    let (n, dtype) = (out.z.dim(0), out.z.dtype());
    let mut total = Tensor::scalar(0.0, dtype);
    if w.z_reconstruction != 0.0 {
        let zz = model.encode(&out.reconstruction, c);
        total = total.add(
            &sq_dist(&out.z, &zz)
                .mean_all()
                .mul_scalar(w.z_reconstruction),
        );
    }
    if w.z_sample_reconstruction != 0.0 {
        let zs = model.latent.sample(n, dtype, rng);
        let zz = model.encode(&model.decode(&zs, c), c);
        let term = sq_dist(&zs, &zz).mean_all();
        total = total.add(&term.mul_scalar(w.z_sample_reconstruction));
    }
    if w.x_sample_reconstruction != 0.0 {
        assert!(
            !model.is_injective(),
            "fff_loss: x_sample_reconstruction needs a dimension-preserving model"
        );
        let xs = model.latent.sample(n, dtype, rng);
        let xx = model.decode(&model.encode(&xs, c), c);
        let term = sq_dist(&xs, &xx).mean_all();
        total = total.add(&term.mul_scalar(w.x_sample_reconstruction));
    }
    total
}

/// The same encoder/decoder trained as a plain autoencoder: `β · mean ‖x − g(f(x))‖²` (the
/// baseline of the "≈ 2× an autoencoder step" cost claim).
///
/// References: FIF arXiv:2306.01843, abstract (cost relative to a vanilla autoencoder).
pub fn autoencoder_loss(
    model: &FreeFormFlow,
    x: &Tensor,
    condition: Option<&Tensor>,
    beta: f64,
) -> Tensor {
    let x1 = model.decode(&model.encode(x, condition), condition);
    sq_dist(x, &x1).mean_all().mul_scalar(beta)
}
