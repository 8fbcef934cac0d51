//! Embedded Riemannian manifolds `M ⊂ R^m` with a projection `π: R^m → M`.
//!
//! Every point is a row of a `[batch, m]` tensor (tori and SO(3) flattened row-major). The
//! projection and the tangent projection are written with flow-core ops, so they record on
//! the tape and carry tangents: M-FFF puts `π` inside both AD passes of the surrogate
//! (arXiv:2312.09852, §3: `f = π ∘ f̃`, `g = π ∘ g̃`). Exponential and logarithm maps and
//! geodesic distances are evaluated without a tape (data preparation, metrics, baselines).

mod poincare;
mod so3;
mod sphere;
mod torus;

pub use poincare::PoincareBall;
pub use so3::{DetFix, SpecialOrthogonal, rotation_angles};
pub use sphere::Sphere;
#[cfg(test)]
pub(crate) use sphere::ln_gamma_half;
pub use torus::Torus;

use flow_core::{DType, Tensor, no_grad};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// An n-dimensional manifold embedded in `R^m` with a differentiable projection.
///
/// Densities on M are taken with respect to the Riemannian volume measure; `log_volume` is
/// the log of the total volume in the same metric (so the uniform density is
/// `−log_volume`).
///
/// ```
/// use flow_manifold::{Manifold, Sphere};
/// use flow_core::{DType, Tensor};
/// let s2 = Sphere::new(2);
/// let x = s2.project(&Tensor::from_slice(&[3.0f64, 0.0, 4.0], &[1, 3]));
/// assert_eq!(x.to_vec_f64(), vec![0.6, 0.0, 0.8]);
/// assert!((s2.log_volume() - (4.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// ```
pub trait Manifold: std::fmt::Debug {
    /// A short name, e.g. `S^2`.
    fn name(&self) -> String;
    /// The ambient dimension m (flattened).
    fn ambient_dim(&self) -> usize;
    /// The intrinsic dimension n.
    fn dim(&self) -> usize;
    /// `π(x)` row-wise, recorded on the tape (`[batch, m] → [batch, m]`).
    fn project(&self, x: &Tensor) -> Tensor;
    /// The orthogonal projection of ambient vectors `v` onto `T_xM` at points `x ∈ M`,
    /// recorded on the tape.
    fn to_tangent(&self, x: &Tensor, v: &Tensor) -> Tensor;
    /// The log of the total Riemannian volume of M.
    fn log_volume(&self) -> f64;
    /// `n` points drawn uniformly from the Riemannian volume measure, `[n, m]`.
    fn sample_uniform(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor;
    /// The exponential map `exp_x(v)` row-wise (no tape).
    fn exp(&self, x: &Tensor, v: &Tensor) -> Tensor;
    /// The logarithm map `log_x(y)` row-wise (no tape), the inverse of [`Manifold::exp`]
    /// inside the injectivity radius.
    fn log(&self, x: &Tensor, y: &Tensor) -> Tensor;
    /// The geodesic distance `d(x, y)`, `[batch]` f64 (no tape).
    fn dist(&self, x: &Tensor, y: &Tensor) -> Tensor;
    /// The Riemannian norm of tangent vectors `v` at `x`, `[batch]` f64 (the Euclidean norm
    /// unless the metric is a rescaled embedding metric).
    fn tangent_norm(&self, _x: &Tensor, v: &Tensor) -> Tensor {
        no_grad(|| v.to_dtype(DType::F64).square().sum_per_sample().sqrt())
    }
    /// `log det G(x)` of a chart metric, `[batch]`; zero for isometric embeddings (all
    /// manifolds here except a chart such as the Poincaré ball).
    fn log_metric_det(&self, x: &Tensor) -> Tensor {
        Tensor::zeros(&[x.dim(0)], x.dtype())
    }
    /// A random orthonormal basis of `T_xM` for each row, `[batch, m, n]` f64 (no tape): the
    /// tangent projections of n Gaussian vectors, orthonormalised (Gram–Schmidt twice). Any
    /// orthonormal basis gives the same `|det(Rᵀ J Q)|`.
    fn tangent_basis(&self, x: &Tensor, rng: &mut dyn Rng) -> Tensor {
        let (b, m, n) = (x.dim(0), self.ambient_dim(), self.dim());
        let x = x.detach().to_dtype(DType::F64);
        let mut out = vec![0.0; b * m * n];
        let cols: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                let g = Tensor::randn(&[b, m], DType::F64, rng);
                no_grad(|| self.to_tangent(&x, &g)).to_vec_f64()
            })
            .collect();
        for r in 0..b {
            let mut frame: Vec<Vec<f64>> = cols
                .iter()
                .map(|c| c[r * m..(r + 1) * m].to_vec())
                .collect();
            gram_schmidt(&mut frame);
            for (j, v) in frame.iter().enumerate() {
                for i in 0..m {
                    out[r * m * n + i * n + j] = v[i];
                }
            }
        }
        Tensor::from_vec(out, &[b, m, n])
    }
    /// `‖x − π(x)‖` per row, f64 (no tape): how far ambient points lie from M.
    fn distance_to_manifold(&self, x: &Tensor) -> Tensor {
        no_grad(|| {
            let x = x.to_dtype(DType::F64);
            x.sub(&self.project(&x)).square().sum_per_sample().sqrt()
        })
    }
}

/// Panics unless `x` is `[batch, m]` for manifold `m` (programmer error: names the op).
pub(crate) fn check_points(op: &str, manifold: &dyn Manifold, x: &Tensor) {
    assert!(
        x.ndim() == 2 && x.dim(1) == manifold.ambient_dim(),
        "{op}: {:?} is not [batch, {}] for {}",
        x.shape(),
        manifold.ambient_dim(),
        manifold.name()
    );
}

/// Modified Gram–Schmidt, run twice ("twice is enough") for round-off.
pub(crate) fn gram_schmidt(frame: &mut [Vec<f64>]) {
    for i in 0..frame.len() {
        for _ in 0..2 {
            for j in 0..i {
                let dot: f64 = frame[i].iter().zip(&frame[j]).map(|(a, b)| a * b).sum();
                let (head, tail) = frame.split_at_mut(i);
                tail[0]
                    .iter_mut()
                    .zip(&head[j])
                    .for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = frame[i].iter().map(|a| a * a).sum::<f64>().sqrt();
        frame[i].iter_mut().for_each(|a| *a /= norm);
    }
}

/// Applies `f(x_row, y_row) -> out_row` to each pair of rows in f64, without a tape.
pub(crate) fn rowwise(
    x: &Tensor,
    y: &Tensor,
    out_width: usize,
    f: impl Fn(&[f64], &[f64], &mut [f64]),
) -> Tensor {
    assert_eq!(
        x.shape(),
        y.shape(),
        "rowwise: shapes {:?} and {:?} differ",
        x.shape(),
        y.shape()
    );
    let (b, m) = (x.dim(0), x.dim(1));
    let (xs, ys) = (x.to_vec_f64(), y.to_vec_f64());
    let mut out = vec![0.0; b * out_width];
    for r in 0..b {
        f(
            &xs[r * m..(r + 1) * m],
            &ys[r * m..(r + 1) * m],
            &mut out[r * out_width..(r + 1) * out_width],
        );
    }
    let shape: Vec<usize> = if out_width == 1 {
        vec![b]
    } else {
        vec![b, out_width]
    };
    Tensor::from_vec(out, &shape)
}

/// `n` standard normal values.
pub(crate) fn gaussian_vec(n: usize, rng: &mut dyn Rng) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}
