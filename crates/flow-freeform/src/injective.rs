//! Free-form injective flows (FIF, formerly MLAE): maximum likelihood on a learned manifold
//! with an encoder `R^D → R^d` and decoder `R^d → R^D`, `d < D`.
//!
//! The loss is the free-form loss of [`crate::surrogate`] with the Hutchinson vector in the
//! latent space `R^d` (scaled by `√d`) and the encoder Jacobian taken at the (noisy) data
//! point x rather than at its projection `x̂ = g(f(x))`: the "stable" objective that penalises
//! curvature of the manifold. The trace estimated is that of the `d × d` matrix
//! `J_f(x) J_g(z)`, so the cost does not depend on D or d beyond one JVP and one VJP.
//!
//! References: FIF arXiv:2306.01843, Eq. (3) (on-manifold density), Eqs. (8)–(12) (gradient
//! `tr(J_g⁺ ∂φ J_g)`, encoder as pseudo-inverse, encoder at x), §5 (configs).

use flow_core::{DType, Tensor, jacobian};
use rand::Rng;

use crate::model::FreeFormFlow;
use crate::surrogate::{FffLossConfig, LossTerms, fff_loss};

/// The FIF loss `β‖x − g(f(x))‖² − log p_Z(f(x)) − vᵀ J_f(x) sg(J_g(z) v)` (batch mean) with
/// `v ∈ R^d`, `x` the noisy data point (`config.noise`, 0.1 for the toy, 0.01 otherwise).
///
/// References: FIF arXiv:2306.01843, Eq. (12) and §4 (the stable encoder-at-x variant).
///
/// # Panics
/// If the model is not injective (`d = D`: use [`fff_loss`]) or on shape mismatches.
pub fn fif_loss<R: Rng + ?Sized>(
    model: &FreeFormFlow,
    x: &Tensor,
    condition: Option<&Tensor>,
    config: &FffLossConfig,
    rng: &mut R,
) -> LossTerms {
    assert!(
        model.is_injective(),
        "fif_loss: latent {} equals data {}; use fff_loss",
        model.latent_dim(),
        model.data_dim()
    );
    fff_loss(model, x, condition, config, rng)
}

/// `½ log det(JᵀJ)` for tall Jacobians `[batch, D, d]` (D ≥ d), in f64, `[batch]`: the
/// log-volume change of an injective map.
///
/// References: FIF arXiv:2306.01843, Eq. (3).
///
/// # Panics
/// If `j` is not `[batch, D, d]` with `D ≥ d`.
///
/// ```
/// use flow_core::Tensor;
/// // g(z) = (z, 2z): JᵀJ = 5, so ½ log 5.
/// let j = Tensor::from_slice(&[1.0f64, 2.0], &[1, 2, 1]);
/// let lv = flow_freeform::rectangular_log_volume(&j).item();
/// assert!((lv - 0.5 * 5f64.ln()).abs() < 1e-12);
/// ```
pub fn rectangular_log_volume(j: &Tensor) -> Tensor {
    assert!(
        j.ndim() == 3 && j.dim(1) >= j.dim(2),
        "rectangular_log_volume: {:?} is not [batch, D, d] with D ≥ d",
        j.shape()
    );
    let j = j.to_dtype(DType::F64);
    j.transposed_matmul(&j).slogdet().1.mul_scalar(0.5)
}

/// `(g(z), ½ log det(J_g(z)ᵀ J_g(z)))` for `z` of shape `[batch, d]`, with `log|det J_g(z)|`
/// when `g` is square. The Jacobian comes from flow-core's recorded [`jacobian`] (`d` JVPs
/// with unit tangents), so the log-volume is differentiable in the decoder's parameters and
/// in `z` (the naive maximum-likelihood objective of
/// [`crate::surrogate::VolumeTerm::DecoderExact`]); in z's dtype.
///
/// References: FIF arXiv:2306.01843, Eq. (3) and §4 (naive maximum likelihood on a learned
/// manifold, the unstable baseline of the encoder-at-x surrogate).
///
/// # Panics
/// If `z` is not `[batch, d]` with `d ≥ 1`, or `g` maps to fewer than `d` dimensions.
pub fn decoder_log_volume(decode: &dyn Fn(&Tensor) -> Tensor, z: &Tensor) -> (Tensor, Tensor) {
    assert!(
        z.ndim() == 2 && z.dim(1) > 0,
        "decoder_log_volume: z {:?} is not [batch, d]",
        z.shape()
    );
    let d = z.dim(1);
    let j = jacobian(decode, z);
    assert!(
        j.dim(1) >= d,
        "decoder_log_volume: decoder output {} is smaller than the latent {d}",
        j.dim(1)
    );
    let log_volume = if j.dim(1) == d {
        j.slogdet().1
    } else {
        j.transposed_matmul(&j).slogdet().1.mul_scalar(0.5)
    };
    (decode(z), log_volume)
}
