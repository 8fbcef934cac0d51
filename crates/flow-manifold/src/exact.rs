//! Exact log-densities with respect to the Riemannian volume, from dense ambient Jacobians
//! restricted to tangent bases (chunked over the batch).
//!
//! References: arXiv:2312.09852, §3 (volume change on manifolds
//! `log|det_M f'(x)| = log|det(Rᵀ J_f(x) Q)| + ½[log det G(f(x)) − log det G(x)]`, Q and R
//! orthonormal bases of `T_xM` and `T_{f(x)}M`); the official `m_fff.py` exact decoder
//! likelihood (after fix 0a0209c).

use flow_core::{DType, Tensor, no_grad};
use flow_freeform::exact::dense_jacobian;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::manifold::Manifold;
use crate::model::ManifoldFlow;

/// Which map's Jacobian gives the exact density.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// `log p(x) = log p_Z(z) − log|det_M g'(z)|` at `z = f(x)` (the density of the model's
    /// samples when reconstruction is exact; the papers' reported NLL).
    #[default]
    Decoder,
    /// `log p(x) = log p_Z(f(x)) + log|det_M f'(x)|` (a normalised density whenever f is a
    /// diffeomorphism of M, whatever the decoder).
    Encoder,
}

/// Per-sample exact evaluation, all `[batch]` f64.
#[derive(Clone, Debug)]
pub struct ManifoldExact {
    /// `log p(x)`.
    pub log_prob: Tensor,
    /// `log p_Z(f(x))`.
    pub log_prob_latent: Tensor,
    /// `log|det_M|` of the chosen side's map (metric term included).
    pub log_volume: Tensor,
    /// `‖x − g(f(x))‖²`: the decoder density is only trustworthy when this is small.
    pub reconstruction: Tensor,
}

impl ManifoldExact {
    /// Mean negative log-likelihood.
    pub fn mean_nll(&self) -> f64 {
        -self.log_prob.mean_all().item()
    }
    /// Mean reconstruction error.
    pub fn mean_reconstruction(&self) -> f64 {
        self.reconstruction.mean_all().item()
    }
}

/// `log|det_M h'(u)|` for a map `h: M → M` given row-wise in ambient coordinates, at points
/// `u` with images `h(u)`: `log|det(Rᵀ J_h(u) Q)| + ½[log det G(h(u)) − log det G(u)]`,
/// `[batch]` f64, Jacobians in chunks of `chunk` rows.
///
/// # Panics
/// If `chunk == 0` or shapes do not match the manifold.
pub fn manifold_log_det(
    manifold: &dyn Manifold,
    h: &dyn Fn(&Tensor) -> Tensor,
    u: &Tensor,
    h_u: &Tensor,
    chunk: usize,
    rng: &mut dyn Rng,
) -> Tensor {
    crate::manifold::check_points("manifold_log_det", manifold, u);
    no_grad(|| {
        let j = dense_jacobian(h, u, chunk).to_dtype(DType::F64);
        let q = manifold.tangent_basis(u, rng);
        let r = manifold.tangent_basis(h_u, rng);
        let a = r.t().matmul(&j).matmul(&q);
        let metric = manifold
            .log_metric_det(h_u)
            .sub(&manifold.log_metric_det(u))
            .to_dtype(DType::F64)
            .mul_scalar(0.5);
        a.slogdet().1.add(&metric)
    })
}

/// Exact `log p(x)` of an M-FFF model with respect to the Riemannian volume (see [`Side`]),
/// Jacobians in chunks of `chunk` rows, without a tape.
///
/// ```
/// use flow_core::DType;
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{Manifold, ManifoldFlow, Side, Sphere, Uniform, exact_log_prob};
/// use rand::SeedableRng;
/// use std::rc::Rc;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
/// let net = ResNetConfig::new(3, 3, &[8], 1).with_block_last_init(flow_core::nn::Init::Zeros);
/// let flow = ManifoldFlow::new(
///     s2.clone(),
///     Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
///     Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
///     Box::new(Uniform::new(s2.clone())),
/// );
/// // Identity networks: the density is uniform, −log 4π.
/// let x = s2.sample_uniform(3, DType::F64, &mut rng);
/// let e = exact_log_prob(&flow, &x, Side::Decoder, 64, &mut rng);
/// assert!((e.mean_nll() - (4.0 * std::f64::consts::PI).ln()).abs() < 1e-10);
/// ```
pub fn exact_log_prob(
    model: &ManifoldFlow,
    x: &Tensor,
    side: Side,
    chunk: usize,
    rng: &mut dyn Rng,
) -> ManifoldExact {
    let manifold = model.manifold();
    crate::manifold::check_points("exact_log_prob", manifold, x);
    no_grad(|| {
        let z = model.encode(x);
        let x1 = model.decode(&z);
        let reconstruction = x.sub(&x1).square().sum_per_sample().to_dtype(DType::F64);
        let log_prob_latent = model.base().log_prob(&z).to_dtype(DType::F64);
        let (log_volume, log_prob) = match side {
            Side::Decoder => {
                let lv = manifold_log_det(manifold, &|u| model.decode(u), &z, &x1, chunk, rng);
                (lv.clone(), log_prob_latent.sub(&lv))
            }
            Side::Encoder => {
                let lv = manifold_log_det(manifold, &|u| model.encode(u), x, &z, chunk, rng);
                (lv.clone(), log_prob_latent.add(&lv))
            }
        };
        ManifoldExact {
            log_prob,
            log_prob_latent,
            log_volume,
            reconstruction,
        }
    })
}
