//! The unit sphere `S^n ⊂ R^{n+1}`.

use flow_core::{DType, Tensor};
use rand::Rng;

use super::{Manifold, check_points, gaussian_vec, rowwise};

/// The unit sphere `S^n = {x ∈ R^{n+1} : ‖x‖ = 1}` with the induced metric.
///
/// Projection `π(x) = x/‖x‖` (Jacobian `(I − x̂x̂ᵀ)/‖x‖`), tangent projection
/// `v − (v·x)x`, volume `2π^{(n+1)/2}/Γ((n+1)/2)` (4π on S²), geodesics along great circles.
///
/// ```
/// use flow_manifold::{Manifold, Sphere};
/// use flow_core::{DType, Tensor};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2 = Sphere::new(2);
/// let x = s2.sample_uniform(4, DType::F64, &mut rng);
/// let y = s2.sample_uniform(4, DType::F64, &mut rng);
/// let back = s2.exp(&x, &s2.log(&x, &y));
/// assert!(back.sub(&y).abs().to_vec_f64().iter().all(|e| *e < 1e-9));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sphere {
    n: usize,
}

impl Sphere {
    /// `S^n` (n ≥ 1).
    ///
    /// # Panics
    /// If `n == 0`.
    pub fn new(n: usize) -> Sphere {
        assert!(n >= 1, "Sphere::new: dimension must be at least 1");
        Sphere { n }
    }
}

/// `ln Γ(k/2)` for a positive integer k, exactly by the half-integer recursion.
pub(crate) fn ln_gamma_half(k: usize) -> f64 {
    assert!(k >= 1, "ln_gamma_half: k must be positive");
    // Γ(1/2) = √π, Γ(1) = 1, Γ(a + 1) = a Γ(a).
    let (mut a, mut acc) = if k % 2 == 1 {
        (0.5, 0.5 * std::f64::consts::PI.ln())
    } else {
        (1.0, 0.0)
    };
    while a < k as f64 / 2.0 - 1e-9 {
        acc += a.ln();
        a += 1.0;
    }
    acc
}

/// `log vol(S^n) = log 2 + ((n+1)/2) log π − ln Γ((n+1)/2)`.
pub(crate) fn log_sphere_volume(n: usize) -> f64 {
    let d = (n + 1) as f64;
    std::f64::consts::LN_2 + 0.5 * d * std::f64::consts::PI.ln() - ln_gamma_half(n + 1)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The great-circle angle `2 atan2(‖y − x‖, ‖y + x‖)`, accurate at 0 and near π.
fn angle(x: &[f64], y: &[f64]) -> f64 {
    let dm: f64 = x.iter().zip(y).map(|(a, b)| (b - a).powi(2)).sum();
    let dp: f64 = x.iter().zip(y).map(|(a, b)| (b + a).powi(2)).sum();
    2.0 * dm.sqrt().atan2(dp.sqrt())
}

impl Manifold for Sphere {
    fn name(&self) -> String {
        format!("S^{}", self.n)
    }
    fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    fn dim(&self) -> usize {
        self.n
    }
    fn project(&self, x: &Tensor) -> Tensor {
        check_points("Sphere::project", self, x);
        x.div(&x.norm(1, true))
    }
    fn to_tangent(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("Sphere::to_tangent", self, x);
        v.sub(&x.mul(&v.mul(x).sum_axis(1, true)))
    }
    fn log_volume(&self) -> f64 {
        log_sphere_volume(self.n)
    }
    fn sample_uniform(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        let g = Tensor::from_vec(gaussian_vec(n * (self.n + 1), rng), &[n, self.n + 1]);
        flow_core::no_grad(|| self.project(&g)).to_dtype(dtype)
    }
    fn exp(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("Sphere::exp", self, x);
        rowwise(x, v, self.n + 1, |x, v, out| {
            let r = norm(v);
            let sinc = if r < 1e-12 { 1.0 } else { r.sin() / r };
            for i in 0..x.len() {
                out[i] = r.cos() * x[i] + sinc * v[i];
            }
            let s = norm(out);
            out.iter_mut().for_each(|o| *o /= s);
        })
        .to_dtype(x.dtype())
    }
    fn log(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("Sphere::log", self, x);
        rowwise(x, y, self.n + 1, |x, y, out| {
            let c = dot(x, y);
            for i in 0..x.len() {
                out[i] = y[i] - c * x[i];
            }
            let (u, theta) = (norm(out), angle(x, y));
            let scale = if u < 1e-300 { 0.0 } else { theta / u };
            out.iter_mut().for_each(|o| *o *= scale);
        })
        .to_dtype(x.dtype())
    }
    fn dist(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("Sphere::dist", self, x);
        rowwise(x, y, 1, |x, y, out| out[0] = angle(x, y))
    }
}
