//! One draw from each toy distribution (see [`super::Toy2d`] for the definitions).

use std::f64::consts::PI;

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::Toy2d;

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// One sample `[x₁, x₂]`.
pub(super) fn draw<R: Rng + ?Sized>(toy: &Toy2d, rng: &mut R) -> [f64; 2] {
    match *toy {
        Toy2d::TwoMoons { noise } => {
            let t = PI * rng.random::<f64>();
            let c = if rng.random::<bool>() {
                [t.cos(), t.sin()]
            } else {
                [1.0 - t.cos(), 0.5 - t.sin()]
            };
            [c[0] + noise * normal(rng), c[1] + noise * normal(rng)]
        }
        Toy2d::Circles {
            outer,
            inner,
            noise,
        } => {
            let a = 2.0 * PI * rng.random::<f64>();
            let r = if rng.random::<bool>() { outer } else { inner };
            [
                r * a.cos() + noise * normal(rng),
                r * a.sin() + noise * normal(rng),
            ]
        }
        Toy2d::EightGaussians { radius, sigma } => {
            let a = 2.0 * PI * rng.random_range(0..8usize) as f64 / 8.0;
            [
                radius * a.cos() + sigma * normal(rng),
                radius * a.sin() + sigma * normal(rng),
            ]
        }
        Toy2d::Checkerboard => {
            // FFJORD: x₁ ~ U(−2,2), x₂ = u − 2k + (⌊x₁⌋ mod 2), then ×2.
            let x1 = 4.0 * rng.random::<f64>() - 2.0;
            let k = rng.random_range(0..2usize) as f64;
            let x2 = rng.random::<f64>() - 2.0 * k + x1.floor().rem_euclid(2.0);
            [2.0 * x1, 2.0 * x2]
        }
        Toy2d::Pinwheel => {
            let (radial_std, tangential_std, rate) = (0.3, 0.1, 0.25);
            let f0 = radial_std * normal(rng) + 1.0;
            let f1 = tangential_std * normal(rng);
            let arm = rng.random_range(0..5usize) as f64;
            let angle = 2.0 * PI * arm / 5.0 + rate * f0.exp();
            let (s, c) = angle.sin_cos();
            [2.0 * (f0 * c + f1 * s), 2.0 * (-f0 * s + f1 * c)]
        }
        Toy2d::Spirals { noise } => {
            let t = 3.0 * PI * rng.random::<f64>().sqrt();
            let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
            [
                -s * t * t.cos() / 3.0 + noise * normal(rng),
                s * t * t.sin() / 3.0 + noise * normal(rng),
            ]
        }
        Toy2d::Sine => {
            let x1 = normal(rng);
            [x1, (PI * x1 / 2.0).sin()]
        }
    }
}
