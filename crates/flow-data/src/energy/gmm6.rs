//! The tempered six-component Gaussian mixture of TRADE (Appendix C;
//! `vislearn/trade: trainables.py TrainingObject_2D_GMM`): `p(x|T) ∝ GMM(x)^{1/T}`, i.e. the
//! potential `u(x) = −log GMM(x)` with `E = u/T`. Z(T) by 2-D quadrature (Z(1) = 1).

use std::f64::consts::PI;

use flow_core::{DType, Tensor};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::quadrature::log_sum_exp;
use super::{Potential, check_input, constant};

/// Component means.
pub const MEANS: [[f64; 2]; 6] = [
    [-1.0, 2.0],
    [3.0, 7.0],
    [-4.0, 2.0],
    [-2.0, -4.0],
    [0.0, 4.0],
    [5.0, -2.0],
];
/// Component covariances `[Σ₁₁, Σ₁₂, Σ₂₂]`.
pub const COVS: [[f64; 3]; 6] = [
    [0.2778, 0.4797, 0.8615],
    [0.8958, -0.0249, 0.1001],
    [1.3074, 0.9223, 0.7744],
    [0.0305, 0.0142, 0.4409],
    [0.0463, 0.0294, 0.3441],
    [0.15, 0.0294, 1.5],
];

/// The TRADE GMM-6 potential `u(x) = −log Σ_k (1/6) N(x; μ_k, Σ_k)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gmm6;

/// Precision entries `[P₁₁, P₁₂, P₂₂]` and `log det Σ` of each component.
fn precisions() -> Vec<([f64; 3], f64)> {
    COVS.iter()
        .map(|&[s11, s12, s22]| {
            let det = s11 * s22 - s12 * s12;
            ([s22 / det, -s12 / det, s11 / det], det.ln())
        })
        .collect()
}

impl Gmm6 {
    /// `log GMM(x)` for one point in plain f64.
    pub fn log_density_f64(x: f64, y: f64) -> f64 {
        let terms: Vec<f64> = precisions()
            .iter()
            .zip(MEANS.iter())
            .map(|(([p11, p12, p22], logdet), m)| {
                let (dx, dy) = (x - m[0], y - m[1]);
                let q = p11 * dx * dx + 2.0 * p12 * dx * dy + p22 * dy * dy;
                -0.5 * q - (2.0 * PI).ln() - 0.5 * logdet - 6f64.ln()
            })
            .collect();
        log_sum_exp(&terms)
    }

    /// `log Z(T) = log ∫ GMM(x)^{1/T} dx` by the trapezoid rule (spectrally accurate for
    /// smooth, decaying integrands) on `[−L, L]²`, `L = 10 + 6√T` (≥ 6 tempered standard
    /// deviations beyond every mean), spacing `h` (0.025 gives ≈ 1e-9 relative accuracy for
    /// T ≥ 0.16).
    pub fn log_z(t: f64, h: f64) -> f64 {
        let l = 10.0 + 6.0 * t.sqrt();
        let n = (2.0 * l / h).ceil() as usize;
        let mut terms = Vec::with_capacity((n + 1) * (n + 1));
        for i in 0..=n {
            let x = -l + h * i as f64;
            for j in 0..=n {
                terms.push(Self::log_density_f64(x, -l + h * j as f64) / t);
            }
        }
        log_sum_exp(&terms) + 2.0 * h.ln()
    }

    /// `n` exact samples at T = 1 (pick a component, then `μ + L ε` with Cholesky `L`).
    pub fn sample<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Tensor {
        use rand::RngExt;
        let mut v = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let k = rng.random_range(0..6usize);
            let [s11, s12, s22] = COVS[k];
            let l11 = s11.sqrt();
            let l21 = s12 / l11;
            let l22 = (s22 - l21 * l21).sqrt();
            let (e1, e2): (f64, f64) = (StandardNormal.sample(rng), StandardNormal.sample(rng));
            v.push(MEANS[k][0] + l11 * e1);
            v.push(MEANS[k][1] + l21 * e1 + l22 * e2);
        }
        Tensor::from_vec(v, &[n, 2]).to_dtype(DType::F64)
    }
}

impl Potential for Gmm6 {
    fn dim(&self) -> usize {
        2
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("Gmm6", x, 2);
        let pre = precisions();
        let row = |f: &dyn Fn(usize) -> f64| constant((0..6).map(f).collect(), &[1, 6], x);
        let dx = x.narrow(1, 0, 1).sub(&row(&|k| MEANS[k][0]));
        let dy = x.narrow(1, 1, 1).sub(&row(&|k| MEANS[k][1]));
        let q = dx
            .square()
            .mul(&row(&|k| pre[k].0[0]))
            .add(&dx.mul(&dy).mul(&row(&|k| 2.0 * pre[k].0[1])))
            .add(&dy.square().mul(&row(&|k| pre[k].0[2])));
        let log_norm = row(&|k| -(2.0 * PI).ln() - 0.5 * pre[k].1 - 6f64.ln());
        q.mul_scalar(-0.5).add(&log_norm).logsumexp(1, false).neg()
    }
}
