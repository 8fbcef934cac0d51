//! A 2-D Gaussian mixture with closed-form conditionals, and the gain of one block of the
//! universality construction (arXiv 2402.06578, Sec. 5, proof of Theorem 5.2 / Fig. 1: the
//! block normalises the active coordinate to zero mean and unit variance per passive value).

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

/// A mixture of 2-D Gaussians; coordinate 0 is passive (`b`), coordinate 1 active (`a`).
#[derive(Clone, Debug, PartialEq)]
pub struct Gmm2 {
    /// Mixture weights (sum to 1).
    pub weights: Vec<f64>,
    /// Component means.
    pub means: Vec<[f64; 2]>,
    /// Component covariances `[[c00, c01], [c01, c11]]` stored as `[c00, c01, c11]`.
    pub covs: Vec<[f64; 3]>,
}

fn log_normal_1d(x: f64, m: f64, v: f64) -> f64 {
    -0.5 * ((x - m).powi(2) / v + (2.0 * std::f64::consts::PI * v).ln())
}

impl Gmm2 {
    /// The 2-D mixture of the paper's volume-preserving notebook:
    /// `½N((−.5, −.5), .2²I) + ½N((.5, .5), .1²I)` (arXiv 2402.06578, App. C.2; whether .2/.1
    /// are standard deviations or variances is unconfirmed — standard deviations here).
    pub fn paper() -> Gmm2 {
        Gmm2 {
            weights: vec![0.5, 0.5],
            means: vec![[-0.5, -0.5], [0.5, 0.5]],
            covs: vec![[0.04, 0.0, 0.04], [0.01, 0.0, 0.01]],
        }
    }

    /// Draws `n` samples (rows `[b, a]`).
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<[f64; 2]> {
        (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                let mut k = 0;
                let mut c = self.weights[0];
                while u > c && k + 1 < self.weights.len() {
                    k += 1;
                    c += self.weights[k];
                }
                let [c00, c01, c11] = self.covs[k];
                let l00 = c00.sqrt();
                let l10 = c01 / l00;
                let l11 = (c11 - l10 * l10).sqrt();
                let (e0, e1): (f64, f64) = (StandardNormal.sample(rng), StandardNormal.sample(rng));
                [
                    self.means[k][0] + l00 * e0,
                    self.means[k][1] + l10 * e0 + l11 * e1,
                ]
            })
            .collect()
    }

    /// `log p(b, a)`.
    pub fn log_density(&self, b: f64, a: f64) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let [c00, c01, c11] = self.covs[k];
                let det = c00 * c11 - c01 * c01;
                let (x, y) = (b - self.means[k][0], a - self.means[k][1]);
                let q = (c11 * x * x - 2.0 * c01 * x * y + c00 * y * y) / det;
                self.weights[k].ln() - 0.5 * q - (2.0 * std::f64::consts::PI).ln() - 0.5 * det.ln()
            })
            .collect();
        let m = terms.iter().copied().fold(f64::MIN, f64::max);
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    }

    /// `(E[a | b], Var[a | b])` in closed form: responsibilities `w_k(b) ∝ π_k N(b; μ_k0, c00)`,
    /// per-component conditional mean `μ_k1 + c01/c00 (b − μ_k0)` and variance
    /// `c11 − c01²/c00`, combined by the law of total variance.
    pub fn conditional_moments(&self, b: f64) -> (f64, f64) {
        let logw: Vec<f64> = (0..self.weights.len())
            .map(|k| self.weights[k].ln() + log_normal_1d(b, self.means[k][0], self.covs[k][0]))
            .collect();
        let m = logw.iter().copied().fold(f64::MIN, f64::max);
        let w: Vec<f64> = logw.iter().map(|l| (l - m).exp()).collect();
        let z: f64 = w.iter().sum();
        let (mut mean, mut second) = (0.0, 0.0);
        for k in 0..w.len() {
            let [c00, c01, c11] = self.covs[k];
            let mk = self.means[k][1] + c01 / c00 * (b - self.means[k][0]);
            let vk = c11 - c01 * c01 / c00;
            mean += w[k] / z * mk;
            second += w[k] / z * (vk + mk * mk);
        }
        (mean, second - mean * mean)
    }
}

/// The per-sample summand of the block gain
/// `ΔL = ½ E_b Σ_i (μ_i(b)² + v_i(b) − 1 − log v_i(b))` (arXiv 2402.06578, Sec. 5; theory.md
/// C.1 "Per-block gain"); average it over samples of `b` for a Monte-Carlo `ΔL`.
pub fn block_gain(mean: f64, var: f64) -> f64 {
    0.5 * (mean * mean + var - 1.0 - var.ln())
}
