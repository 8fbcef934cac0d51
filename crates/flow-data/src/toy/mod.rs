//! Toy 2-D distributions: samplers and, where one exists, the exact log-density (for KL
//! estimates and density plots).
//!
//! Conventions follow FFJORD's `toy_data.py` (Grathwohl et al. 2019, arXiv 1810.01367) and the
//! free-form-flow toys (Draxler et al. 2024, arXiv 2310.16624), with two deliberate changes so
//! that densities are exact: curve positions (moons, circles) are drawn uniformly at random
//! instead of on a `linspace`, and the spirals' uniform jitter is replaced by Gaussian noise.

mod curve_mixture;
mod samplers;

use std::f64::consts::PI;

use flow_core::{DType, Tensor};
use rand::Rng;

pub use curve_mixture::IsoGaussianMixture2d;

/// A toy 2-D distribution.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Toy2d {
    /// scikit-learn's two moons: upper arc `(cos t, sin t)` and lower arc
    /// `(1 − cos t, 0.5 − sin t)`, `t ~ U(0, π)`, each with probability ½, plus `N(0, noise²I)`.
    TwoMoons {
        /// Standard deviation of the Gaussian noise (FFF uses 0.1).
        noise: f64,
    },
    /// Two concentric circles of radii `outer` and `inner`, uniform angle, equal mass, plus
    /// `N(0, noise²I)` (FFJORD: radii 3 and 1.5, noise 0.24).
    Circles {
        /// Outer radius.
        outer: f64,
        /// Inner radius.
        inner: f64,
        /// Noise standard deviation.
        noise: f64,
    },
    /// Equal-weight mixture of 8 Gaussians on a circle (FFF GMM-8: radius 2, σ = 0.1).
    EightGaussians {
        /// Radius of the circle of means.
        radius: f64,
        /// Per-component standard deviation.
        sigma: f64,
    },
    /// FFJORD checkerboard: uniform on the 8 cells of side 2 of `[−4, 4]²` with
    /// `⌊x₁/2⌋ + ⌊x₂/2⌋` even. Density `1/32` on the support.
    Checkerboard,
    /// FFJORD pinwheel (5 arms, radial std 0.3, tangential std 0.1, rate 0.25, scale 2).
    /// No closed-form density.
    Pinwheel,
    /// Two spirals `±(−t cos t, t sin t)/3`, `t = 3π√u`, `u ~ U(0,1)`, plus `N(0, noise²I)`.
    Spirals {
        /// Noise standard deviation (0.1 as in FFJORD).
        noise: f64,
    },
    /// The free-form-injective-flow sine manifold: `x₁ ~ N(0,1)`, `x₂ = sin(π x₁ / 2)`.
    /// Singular in 2-D: no density.
    Sine,
}

impl Toy2d {
    /// Two moons with noise 0.1 (FFF).
    pub const TWO_MOONS: Toy2d = Toy2d::TwoMoons { noise: 0.1 };
    /// FFJORD circles.
    pub const CIRCLES: Toy2d = Toy2d::Circles {
        outer: 3.0,
        inner: 1.5,
        noise: 0.24,
    };
    /// FFF GMM-8: radius 2, σ = 0.1.
    pub const EIGHT_GAUSSIANS: Toy2d = Toy2d::EightGaussians {
        radius: 2.0,
        sigma: 0.1,
    };
    /// Spirals with noise 0.1.
    pub const SPIRALS: Toy2d = Toy2d::Spirals { noise: 0.1 };

    /// Every preset, for tables of tests and plots.
    pub const ALL: [Toy2d; 7] = [
        Toy2d::TWO_MOONS,
        Toy2d::CIRCLES,
        Toy2d::EIGHT_GAUSSIANS,
        Toy2d::Checkerboard,
        Toy2d::Pinwheel,
        Toy2d::SPIRALS,
        Toy2d::Sine,
    ];

    /// `n` independent samples as a `[n, 2]` tensor of `dtype`.
    ///
    /// ```
    /// use flow_data::toy::Toy2d;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    /// let x = Toy2d::Sine.sample(100, flow_core::DType::F64, &mut rng);
    /// assert_eq!(x.shape(), &[100, 2]);
    /// let v = x.to_vec_f64();
    /// assert!((v[1] - (std::f64::consts::PI * v[0] / 2.0).sin()).abs() < 1e-12);
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, dtype: DType, rng: &mut R) -> Tensor {
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..n {
            out.extend_from_slice(&samplers::draw(self, rng));
        }
        Tensor::from_vec(out, &[n, 2]).to_dtype(dtype)
    }

    /// Exact `log p(x)` for `x` of shape `[batch, 2]` (returns `[batch]`), or `None` for the
    /// distributions without a density (pinwheel, sine). Curve-based densities (moons,
    /// circles, spirals) are 1-D integrals evaluated by Simpson/trapezoid quadrature with
    /// node spacing ≪ σ (relative error below 1e-6); they are differentiable in `x`.
    /// The checkerboard density is piecewise constant (`−log 32` inside, `−∞` outside) and
    /// carries no gradient.
    pub fn log_density(&self, x: &Tensor) -> Option<Tensor> {
        if let Toy2d::Checkerboard = self {
            return Some(checkerboard_log_density(x));
        }
        self.mixture().map(|m| m.log_density(x))
    }

    /// The Gaussian (or quadrature) mixture that defines the density, if there is one.
    pub fn mixture(&self) -> Option<IsoGaussianMixture2d> {
        match *self {
            Toy2d::EightGaussians { radius, sigma } => {
                let centers = (0..8)
                    .map(|k| {
                        let a = 2.0 * PI * k as f64 / 8.0;
                        [radius * a.cos(), radius * a.sin()]
                    })
                    .collect();
                Some(IsoGaussianMixture2d::equal_weights(centers, sigma))
            }
            Toy2d::TwoMoons { noise } => {
                let unif = |_t: f64| 1.0 / PI;
                let upper = IsoGaussianMixture2d::from_curve(
                    |t| [t.cos(), t.sin()],
                    unif,
                    (0.0, PI),
                    300,
                    noise,
                );
                let lower = IsoGaussianMixture2d::from_curve(
                    |t| [1.0 - t.cos(), 0.5 - t.sin()],
                    unif,
                    (0.0, PI),
                    300,
                    noise,
                );
                Some(IsoGaussianMixture2d::combine(&[(0.5, upper), (0.5, lower)]))
            }
            Toy2d::Circles {
                outer,
                inner,
                noise,
            } => {
                let ring = |r: f64| {
                    let m = 400;
                    let centers = (0..m)
                        .map(|k| {
                            let a = 2.0 * PI * k as f64 / m as f64;
                            [r * a.cos(), r * a.sin()]
                        })
                        .collect();
                    IsoGaussianMixture2d::equal_weights(centers, noise)
                };
                Some(IsoGaussianMixture2d::combine(&[
                    (0.5, ring(outer)),
                    (0.5, ring(inner)),
                ]))
            }
            Toy2d::Spirals { noise } => {
                let t_max = 3.0 * PI;
                let dens = move |t: f64| 2.0 * t / (t_max * t_max);
                let arm = |s: f64| {
                    IsoGaussianMixture2d::from_curve(
                        move |t| [-s * t * t.cos() / 3.0, s * t * t.sin() / 3.0],
                        dens,
                        (0.0, t_max),
                        500,
                        noise,
                    )
                };
                Some(IsoGaussianMixture2d::combine(&[
                    (0.5, arm(1.0)),
                    (0.5, arm(-1.0)),
                ]))
            }
            Toy2d::Checkerboard | Toy2d::Pinwheel | Toy2d::Sine => None,
        }
    }
}

/// `−log 32` on the checkerboard support, `−∞` elsewhere (untracked).
fn checkerboard_log_density(x: &Tensor) -> Tensor {
    let v = x.to_vec_f64();
    let out: Vec<f64> = v
        .chunks(2)
        .map(|p| {
            let (a, b) = (p[0] / 2.0, p[1] / 2.0);
            let inside = (-2.0..2.0).contains(&a) && (-2.0..2.0).contains(&b);
            let even = (a.floor() as i64 + b.floor() as i64).rem_euclid(2) == 0;
            if inside && even {
                -(32f64.ln())
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    Tensor::from_vec(out, &[x.dim(0)]).to_dtype(x.dtype())
}
