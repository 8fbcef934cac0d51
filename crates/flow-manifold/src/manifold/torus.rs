//! The flat torus `T^k = (S¹)^k ⊂ R^{2k}`.

use flow_core::{DType, Tensor};
use rand::{Rng, RngExt};
use std::f64::consts::PI;

use super::{Manifold, check_points, rowwise};

/// The flat torus `T^k`, a product of k unit circles, embedded in `R^{2k}` as
/// `(cos θ₁, sin θ₁, …, cos θ_k, sin θ_k)` (the official code's k×2 matrix, flattened).
///
/// Projection: normalise each (cos, sin) pair; tangent projection per circle; volume `(2π)^k`;
/// geodesic distance `√Σ wrap(θ'_i − θ_i)²` with `wrap` into `(−π, π]`.
///
/// ```
/// use flow_manifold::{Manifold, Torus};
/// let t7 = Torus::new(7);
/// assert_eq!((t7.ambient_dim(), t7.dim()), (14, 7));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Torus {
    k: usize,
}

impl Torus {
    /// `T^k` (k ≥ 1).
    ///
    /// # Panics
    /// If `k == 0`.
    pub fn new(k: usize) -> Torus {
        assert!(k >= 1, "Torus::new: need at least one circle");
        Torus { k }
    }

    /// Embeds angles `[batch, k]` (radians) as `[batch, 2k]` points.
    ///
    /// # Panics
    /// If `angles` is not `[batch, k]`.
    pub fn from_angles(&self, angles: &Tensor) -> Tensor {
        assert!(
            angles.ndim() == 2 && angles.dim(1) == self.k,
            "Torus::from_angles: {:?} is not [batch, {}]",
            angles.shape(),
            self.k
        );
        let (c, s) = (angles.cos().unsqueeze(2), angles.sin().unsqueeze(2));
        Tensor::concat(&[&c, &s], 2).reshape(&[angles.dim(0), 2 * self.k])
    }

    /// The angles `[batch, k]` in `(−π, π]` of points `[batch, 2k]` (no tape, f64).
    pub fn angles(&self, x: &Tensor) -> Tensor {
        check_points("Torus::angles", self, x);
        let v = x.to_vec_f64();
        let a: Vec<f64> = v.chunks(2).map(|p| p[1].atan2(p[0])).collect();
        Tensor::from_vec(a, &[x.dim(0), self.k])
    }
}

/// Wraps an angle into `(−π, π]`.
pub(crate) fn wrap(a: f64) -> f64 {
    let w = (a + PI).rem_euclid(2.0 * PI) - PI;
    if w <= -PI { w + 2.0 * PI } else { w }
}

impl Manifold for Torus {
    fn name(&self) -> String {
        format!("T^{}", self.k)
    }
    fn ambient_dim(&self) -> usize {
        2 * self.k
    }
    fn dim(&self) -> usize {
        self.k
    }
    fn project(&self, x: &Tensor) -> Tensor {
        check_points("Torus::project", self, x);
        let p = x.reshape(&[x.dim(0), self.k, 2]);
        p.div(&p.norm(2, true)).reshape(&[x.dim(0), 2 * self.k])
    }
    fn to_tangent(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("Torus::to_tangent", self, x);
        let shape = [x.dim(0), self.k, 2];
        let (p, w) = (x.reshape(&shape), v.reshape(&shape));
        w.sub(&p.mul(&w.mul(&p).sum_axis(2, true)))
            .reshape(&[x.dim(0), 2 * self.k])
    }
    fn log_volume(&self) -> f64 {
        self.k as f64 * (2.0 * PI).ln()
    }
    fn sample_uniform(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        let a: Vec<f64> = (0..n * self.k)
            .map(|_| rng.random::<f64>() * 2.0 * PI - PI)
            .collect();
        self.from_angles(&Tensor::from_vec(a, &[n, self.k]))
            .to_dtype(dtype)
    }
    fn exp(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("Torus::exp", self, x);
        rowwise(x, v, 2 * self.k, |x, v, out| {
            for i in 0..self.k {
                let (c, s) = (x[2 * i], x[2 * i + 1]);
                let omega = -s * v[2 * i] + c * v[2 * i + 1];
                let a = s.atan2(c) + omega;
                out[2 * i] = a.cos();
                out[2 * i + 1] = a.sin();
            }
        })
        .to_dtype(x.dtype())
    }
    fn log(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("Torus::log", self, x);
        rowwise(x, y, 2 * self.k, |x, y, out| {
            for i in 0..self.k {
                let (c, s) = (x[2 * i], x[2 * i + 1]);
                let d = wrap(y[2 * i + 1].atan2(y[2 * i]) - s.atan2(c));
                out[2 * i] = -s * d;
                out[2 * i + 1] = c * d;
            }
        })
        .to_dtype(x.dtype())
    }
    fn dist(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("Torus::dist", self, x);
        rowwise(x, y, 1, |x, y, out| {
            out[0] = (0..self.k)
                .map(|i| {
                    let d = y[2 * i + 1].atan2(y[2 * i]) - x[2 * i + 1].atan2(x[2 * i]);
                    wrap(d).powi(2)
                })
                .sum::<f64>()
                .sqrt()
        })
    }
}
