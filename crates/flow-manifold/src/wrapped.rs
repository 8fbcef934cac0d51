//! The wrapped normal at the origin of the Poincaré ball.
//!
//! References: arXiv:2312.09852, §5.5 (hyperbolic toys with a wrapped-normal base); the
//! official `wrapped_at_origin.py`; Nagano et al. 2019 (wrapped normal on hyperbolic space).

use flow_core::{DType, Tensor, no_grad};
use rand::Rng;

use crate::base::ManifoldDensity;
use crate::manifold::{Manifold, PoincareBall};

/// `v ~ N(0, s² I)` in `T_0B^n` (chart coordinates), pushed through
/// `exp_0(v) = tanh(‖v‖) v/‖v‖`. Its density w.r.t. the Riemannian volume is
/// `log p(x) = log N(log_0 x; 0, s²I) − log|det J_{exp_0}(v)| − ½ log det G(x)` with
/// `log_0 x = artanh(‖x‖) x/‖x‖` and
/// `log|det J_{exp_0}(v)| = log sech² r + (n − 1) log(tanh r / r)`, `r = ‖v‖`
/// (radial stretch `sech² r`, tangential `tanh r / r`).
///
/// ```
/// use flow_manifold::{ManifoldDensity, WrappedNormal};
/// use flow_core::DType;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let w = WrappedNormal::new(2, 0.5);
/// let x = w.sample(4, DType::F64, &mut rng);
/// assert!(x.norm(1, false).to_vec_f64().iter().all(|r| *r < 1.0));
/// assert!(w.log_prob(&x).all_finite());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WrappedNormal {
    ball: PoincareBall,
    n: usize,
    scale: f64,
}

impl WrappedNormal {
    /// The wrapped normal of tangent scale `scale` on `B^n`.
    ///
    /// # Panics
    /// If `scale ≤ 0`.
    pub fn new(n: usize, scale: f64) -> WrappedNormal {
        assert!(
            scale > 0.0,
            "WrappedNormal::new: scale {scale} must be positive"
        );
        WrappedNormal {
            ball: PoincareBall::new(n),
            n,
            scale,
        }
    }
}

/// `log|det J|` of `v ↦ tanh(‖v‖) v/‖v‖` on `R^n` at radius r (the closed form above).
pub fn log_det_exp0(n: usize, r: f64) -> f64 {
    if r < 1e-8 {
        return 0.0;
    }
    -2.0 * r.cosh().ln() + (n as f64 - 1.0) * (r.tanh() / r).ln()
}

impl ManifoldDensity for WrappedNormal {
    fn event_dim(&self) -> usize {
        self.n
    }
    fn log_prob(&self, x: &Tensor) -> Tensor {
        // r = artanh ‖x‖ = ½ log((1 + ‖x‖)/(1 − ‖x‖)); recorded so gradients reach x.
        let nx = x.square().sum_per_sample().add_scalar(1e-300).sqrt();
        let r = nx
            .add_scalar(1.0)
            .div(&nx.neg().add_scalar(1.0))
            .log()
            .mul_scalar(0.5);
        let (n, s2) = (self.n as f64, self.scale * self.scale);
        let log_normal = r
            .square()
            .mul_scalar(-0.5 / s2)
            .add_scalar(-0.5 * n * (2.0 * std::f64::consts::PI * s2).ln());
        // log sech² r + (n − 1) log(tanh r / r), with tanh r = ‖x‖.
        let cosh = r.exp().add(&r.neg().exp()).mul_scalar(0.5);
        let jac = cosh
            .log()
            .mul_scalar(-2.0)
            .add(&nx.div(&r.add_scalar(1e-300)).log().mul_scalar(n - 1.0));
        log_normal
            .sub(&jac)
            .sub(&self.ball.log_metric_det(x).mul_scalar(0.5))
    }
    fn sample(&self, count: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        no_grad(|| {
            let v = Tensor::randn(&[count, self.n], DType::F64, rng).mul_scalar(self.scale);
            let r = v.norm(1, true);
            v.mul(&r.tanh().div(&r)).to_dtype(dtype)
        })
    }
}
