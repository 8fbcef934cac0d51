//! The M-FFF training loss: tangent-space free-form surrogate plus the βR, βU, βP
//! regularisers.
//!
//! References: arXiv:2312.09852, §3 (Eq. for the manifold surrogate
//! `S = vᵀ J_f(x) · sg(J_g(z) v)` with v in `T_zM`, both projections inside the AD graph) and
//! §4 (regularisers); the official `loss.py::volume_change_surrogate`, `mfff_loss` (loss keys
//! `noisy_reconstruction`, `x/z_sample_reconstruction`, `z/x1_projection`).

use flow_core::{Tensor, jvp, no_grad, vjp_with_graph};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::model::ManifoldFlow;
use crate::tangent::{TangentScale, tangent_hutchinson};

/// Weights and options of [`mfff_loss`]. Reconstructions are squared Euclidean distances in
/// `R^m` summed over coordinates (the official convention the β values refer to).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MfffLossConfig {
    /// βR: weight of `‖x − g(f(x))‖²` on (noisy) data (`noisy_reconstruction`).
    pub beta_r: f64,
    /// βU: weight of `‖x_s − g(f(x_s))‖² + ‖z_s − f(g(z_s))‖²` for `x_s, z_s` drawn from the
    /// base distribution (`x_sample_reconstruction`, `z_sample_reconstruction`; the base is
    /// uniform on M in most official configs).
    pub beta_u: f64,
    /// βP: weight of `‖f̃(x) − z‖² + ‖g̃(z) − x₁‖²` (`z_projection`, `x1_projection`).
    pub beta_p: f64,
    /// Standard deviation of ambient Gaussian noise added to the data, then projected back
    /// onto M (the official fix c996f82); 0: none.
    pub noise: f64,
    /// Length of the tangent Hutchinson vector.
    pub scale: TangentScale,
}

impl MfffLossConfig {
    /// βR only, no noise, the unbiased `√n` scale.
    pub fn new(beta_r: f64) -> MfffLossConfig {
        MfffLossConfig {
            beta_r,
            beta_u: 0.0,
            beta_p: 0.0,
            noise: 0.0,
            scale: TangentScale::Intrinsic,
        }
    }
    /// Sets βU.
    pub fn with_beta_u(mut self, beta_u: f64) -> Self {
        self.beta_u = beta_u;
        self
    }
    /// Sets βP.
    pub fn with_beta_p(mut self, beta_p: f64) -> Self {
        self.beta_p = beta_p;
        self
    }
    /// Sets the data noise.
    pub fn with_noise(mut self, noise: f64) -> Self {
        self.noise = noise;
        self
    }
    /// Sets the Hutchinson scale.
    pub fn with_scale(mut self, scale: TangentScale) -> Self {
        self.scale = scale;
        self
    }
}

/// The terms of one loss evaluation.
#[derive(Clone, Debug)]
pub struct MfffTerms {
    /// The scalar to minimise.
    pub loss: Tensor,
    /// Surrogate NLL `−log p_Z(z) − S − ½[log det G(z) − log det G(x)]`, `[batch]` (its
    /// value is not a likelihood; see [`crate::exact`]).
    pub nll: Tensor,
    /// The surrogate `S`, `[batch]`.
    pub surrogate: Tensor,
    /// `‖x − g(f(x))‖²`, `[batch]`.
    pub reconstruction: Tensor,
    /// Batch mean of the βU term (unweighted scalar).
    pub sample_reconstruction: Tensor,
    /// Batch mean of the βP term (unweighted scalar).
    pub projection: Tensor,
}

fn sq_dist(a: &Tensor, b: &Tensor) -> Tensor {
    a.sub(b).square().sum_per_sample()
}

/// The forward quantities of one surrogate pass (all on the tape).
#[derive(Clone, Debug)]
pub struct SurrogateParts {
    /// `f̃(x)`.
    pub z_raw: Tensor,
    /// `z = π(f̃(x))`.
    pub z: Tensor,
    /// `g̃(z)`.
    pub x1_raw: Tensor,
    /// `x₁ = π(g̃(z))`.
    pub x1: Tensor,
    /// `S = ⟨vᵀ J_{π∘f̃}(x), sg(J_{π∘g̃}(z) v)⟩`, `[batch]`: its θ-gradient estimates
    /// `∇θ log|det(Rᵀ J_f Q)|` when v is tangent at z with `E[vvᵀ] = P_T` and `g ≈ f⁻¹`.
    pub surrogate: Tensor,
}

/// The tangent-space free-form surrogate for data `x` (a tracked leaf on M) with the
/// Hutchinson vector `draw(z)` (tangent at z, detached). Both projections sit inside both AD
/// passes, so the VJP and the JVP include `J_π`.
///
/// References: arXiv:2312.09852, §3; FFF arXiv:2310.16624, Eq. (9).
pub fn tangent_surrogate(
    model: &ManifoldFlow,
    x: &Tensor,
    draw: &mut dyn FnMut(&Tensor) -> Tensor,
) -> SurrogateParts {
    let manifold = model.manifold();
    let z_raw = model.encode_raw(x);
    let z = manifold.project(&z_raw);
    let v = draw(&z);
    let mut x1_raw = None;
    // J_{π∘g̃}(z) v by forward mode; z keeps its reverse graph so x1 stays differentiable.
    let (x1, jg_v) = jvp(
        |u: &Tensor| {
            let raw = model.decode_raw(u);
            x1_raw = Some(raw.primal());
            manifold.project(&raw)
        },
        &z,
        &v,
    );
    // vᵀ J_{π∘f̃}(x) by a recorded VJP (reverse-over-reverse, as the official code).
    let vt_jf = vjp_with_graph(&z, &[x], &v).remove(0);
    let surrogate = vt_jf.mul(&jg_v.detach()).sum_per_sample();
    SurrogateParts {
        z_raw,
        z,
        x1_raw: x1_raw.expect("the decoder ran inside jvp"),
        x1: x1.primal(),
        surrogate,
    }
}

/// The M-FFF loss on a batch `x` (`[batch, m]`, points of M):
/// `mean[−log p_Z(z) − S − ½(log det G(z) − log det G(x))] + βR·mean‖x − x₁‖² + βU·U + βP·P`.
///
/// References: arXiv:2312.09852, §3–4; the official `mfff_loss`.
///
/// # Panics
/// If `x` is not `[batch, m]`.
pub fn mfff_loss(
    model: &ManifoldFlow,
    x: &Tensor,
    config: &MfffLossConfig,
    rng: &mut dyn Rng,
) -> MfffTerms {
    let manifold = model.manifold();
    crate::manifold::check_points("mfff_loss", manifold, x);
    let x = if config.noise > 0.0 {
        let noisy = x.add(&Tensor::randn(x.shape(), x.dtype(), rng).mul_scalar(config.noise));
        no_grad(|| manifold.project(&noisy))
    } else {
        x.detach()
    }
    .requires_grad();
    let parts = {
        let mut draw = |z: &Tensor| tangent_hutchinson(manifold, z, config.scale, &mut *rng);
        tangent_surrogate(model, &x, &mut draw)
    };
    let SurrogateParts {
        z_raw,
        z,
        x1_raw,
        x1,
        surrogate: s,
    } = parts;
    let metric = manifold
        .log_metric_det(&z)
        .sub(&manifold.log_metric_det(&x))
        .mul_scalar(0.5);
    let nll = model.base().log_prob(&z).neg().sub(&s).sub(&metric);
    let reconstruction = sq_dist(&x, &x1);
    let projection = sq_dist(&z_raw, &z).add(&sq_dist(&x1_raw, &x1)).mean_all();
    let sample_reconstruction = if config.beta_u != 0.0 {
        let (n, dtype) = (x.dim(0), x.dtype());
        let xs = model.base().sample(n, dtype, rng);
        let zs = model.base().sample(n, dtype, rng);
        let rx = sq_dist(&xs, &model.decode(&model.encode(&xs)));
        let rz = sq_dist(&zs, &model.encode(&model.decode(&zs)));
        rx.add(&rz).mean_all()
    } else {
        Tensor::scalar(0.0, x.dtype())
    };
    let loss = nll
        .mean_all()
        .add(&reconstruction.mean_all().mul_scalar(config.beta_r))
        .add(&sample_reconstruction.mul_scalar(config.beta_u))
        .add(&projection.mul_scalar(config.beta_p));
    MfffTerms {
        loss,
        nll,
        surrogate: s,
        reconstruction,
        sample_reconstruction,
        projection,
    }
}
