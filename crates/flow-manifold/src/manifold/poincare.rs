//! The Poincaré ball `B^n` (hyperbolic space of curvature −1) in its conformal chart.

use flow_core::{DType, Tensor};
use rand::Rng;

use super::{Manifold, check_points, rowwise};

/// The Poincaré ball `{x ∈ R^n : ‖x‖ < 1}` with metric `G(x) = λ(x)² I`,
/// `λ(x) = 2/(1 − ‖x‖²)`, so `log det G = 2n log λ`.
///
/// The chart is the ambient space (m = n); the projection only pulls points with
/// `‖x‖ ≥ 1 − ε` back inside, `x (1 − ε)/(‖x‖ + ε)` (the official `PoincareBall_`), and the
/// tangent projection is the identity. The volume is infinite: [`Manifold::log_volume`] is
/// `+∞` and there is no uniform distribution ([`Manifold::sample_uniform`] panics); use a
/// wrapped normal ([`crate::WrappedNormal`]) as base.
///
/// ```
/// use flow_manifold::{Manifold, PoincareBall};
/// use flow_core::Tensor;
/// let b = PoincareBall::new(2);
/// let x = b.project(&Tensor::from_slice(&[3.0f64, 4.0], &[1, 2]));
/// assert!(x.norm(1, false).item() < 1.0);
/// // log det G at the origin: 2n log 2.
/// let g = b.log_metric_det(&Tensor::zeros(&[1, 2], flow_core::DType::F64)).item();
/// assert!((g - 4.0 * 2f64.ln()).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoincareBall {
    n: usize,
    eps: f64,
}

impl PoincareBall {
    /// `B^n` with the official boundary margin ε = 1e-6 (geomstats' `atol`).
    ///
    /// # Panics
    /// If `n == 0`.
    pub fn new(n: usize) -> PoincareBall {
        assert!(n >= 1, "PoincareBall::new: dimension must be at least 1");
        PoincareBall { n, eps: 1e-6 }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Möbius addition `x ⊕ y`.
fn mobius_add(x: &[f64], y: &[f64]) -> Vec<f64> {
    let (xy, xx, yy) = (dot(x, y), dot(x, x), dot(y, y));
    let den = 1.0 + 2.0 * xy + xx * yy;
    x.iter()
        .zip(y)
        .map(|(a, b)| ((1.0 + 2.0 * xy + yy) * a + (1.0 - xx) * b) / den)
        .collect()
}

impl Manifold for PoincareBall {
    fn name(&self) -> String {
        format!("B^{}", self.n)
    }
    fn ambient_dim(&self) -> usize {
        self.n
    }
    fn dim(&self) -> usize {
        self.n
    }
    fn project(&self, x: &Tensor) -> Tensor {
        check_points("PoincareBall::project", self, x);
        let r = x.norm(1, true);
        let pulled = x.mul_scalar(1.0 - self.eps).div(&r.add_scalar(self.eps));
        let outside = r.detach().gt_scalar(1.0 - self.eps);
        Tensor::where_cond(&outside, &pulled, x)
    }
    fn to_tangent(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("PoincareBall::to_tangent", self, x);
        v.clone()
    }
    fn log_volume(&self) -> f64 {
        f64::INFINITY
    }
    /// # Panics
    /// Always: hyperbolic space has infinite volume.
    fn sample_uniform(&self, _n: usize, _dtype: DType, _rng: &mut dyn Rng) -> Tensor {
        panic!("PoincareBall::sample_uniform: no uniform distribution on infinite volume")
    }
    /// `exp_x(v) = x ⊕ (tanh(λ_x‖v‖/2) v/‖v‖)`.
    fn exp(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("PoincareBall::exp", self, x);
        rowwise(x, v, self.n, |x, v, out| {
            let nv = dot(v, v).sqrt();
            if nv < 1e-300 {
                out.copy_from_slice(x);
                return;
            }
            let lam = 2.0 / (1.0 - dot(x, x));
            let s = (lam * nv / 2.0).tanh() / nv;
            let u: Vec<f64> = v.iter().map(|a| a * s).collect();
            out.copy_from_slice(&mobius_add(x, &u));
        })
        .to_dtype(x.dtype())
    }
    /// `log_x(y) = (2/λ_x) artanh(‖−x ⊕ y‖) (−x ⊕ y)/‖−x ⊕ y‖`.
    fn log(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("PoincareBall::log", self, x);
        rowwise(x, y, self.n, |x, y, out| {
            let neg: Vec<f64> = x.iter().map(|a| -a).collect();
            let w = mobius_add(&neg, y);
            let nw = dot(&w, &w).sqrt();
            let lam = 2.0 / (1.0 - dot(x, x));
            let s = if nw < 1e-300 {
                0.0
            } else {
                2.0 / lam * nw.atanh() / nw
            };
            out.iter_mut().zip(&w).for_each(|(o, a)| *o = s * a);
        })
        .to_dtype(x.dtype())
    }
    /// `arcosh(1 + 2‖x − y‖²/((1 − ‖x‖²)(1 − ‖y‖²)))`.
    fn dist(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("PoincareBall::dist", self, x);
        rowwise(x, y, 1, |x, y, out| {
            let d2: f64 = x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
            let q = 2.0 * d2 / ((1.0 - dot(x, x)) * (1.0 - dot(y, y)));
            // arcosh(1 + q) = log(1 + q + √(q(q + 2))), accurate for small q.
            out[0] = (q + (q * (q + 2.0)).sqrt()).ln_1p();
        })
    }
    /// `λ_x ‖v‖`.
    fn tangent_norm(&self, x: &Tensor, v: &Tensor) -> Tensor {
        rowwise(x, v, 1, |x, v, out| {
            out[0] = 2.0 / (1.0 - dot(x, x)) * dot(v, v).sqrt();
        })
    }
    /// `2n log λ(x)`, recorded.
    fn log_metric_det(&self, x: &Tensor) -> Tensor {
        let sq = x.square().sum_per_sample();
        sq.neg()
            .add_scalar(1.0)
            .recip()
            .mul_scalar(2.0)
            .log()
            .mul_scalar(2.0 * self.n as f64)
    }
    /// `max(‖x‖ − (1 − ε), 0)`: how far chart points lie outside the ball.
    fn distance_to_manifold(&self, x: &Tensor) -> Tensor {
        let v = x.to_vec_f64();
        let d: Vec<f64> = v
            .chunks(self.n)
            .map(|r| (dot(r, r).sqrt() - (1.0 - self.eps)).max(0.0))
            .collect();
        Tensor::from_vec(d, &[x.dim(0)])
    }
}
