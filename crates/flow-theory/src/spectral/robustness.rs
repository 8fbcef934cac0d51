//! Robustness of frequency components to random parameter perturbations (arXiv 1806.08734,
//! Sec. 3, Fig. 3; notebook `ICML_Robustness.ipynb`): after training on a sum of sines,
//! `θ → θ + δu` with `u` uniform on the unit sphere of all parameters destroys the high
//! frequencies first.

use flow_core::nn::{Mlp, Module, values};
use flow_core::{DType, Tensor};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::spectral::learning::{SineTarget, predict};
use crate::spectral::spectrum::dft;

/// Perturbation sizes and directions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessConfig {
    /// Perturbation norms `δ/‖θ‖` (the notebook's absolute `δ ≤ 5` on its width-256, depth-6
    /// net, `‖θ‖ ≈ 20`, is a relative size up to about 0.25).
    pub relative_deltas: Vec<f64>,
    /// Random directions per size.
    pub directions: usize,
    /// Seed of the directions.
    pub seed: u64,
}

/// Retained amplitude per target frequency under perturbation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Robustness {
    /// `|f̃_θ(k_i)|/A_i` of the unperturbed network: the check that every frequency was learned
    /// (≈ 1) before robustness means anything.
    pub base: Vec<f64>,
    /// The paper's measure `r(k, δ) = E_u |f̃_{θ+δu}(k)| / |f̃_θ(k)|`, `[delta][freq]`. A
    /// perturbation adds its own (mostly low-frequency) spectrum, so this also counts
    /// incoherent noise as "retained".
    pub amplitude_ratio: Vec<Vec<f64>>,
    /// The coherent part `c(k, δ) = Re(E_u[f̃_{θ+δu}(k)] · conj f̃_θ(k)) / |f̃_θ(k)|²`: the
    /// fraction of the learned component that survives with its phase (noise averages out).
    pub coherent_ratio: Vec<Vec<f64>>,
}

fn grid(n_points: usize) -> Tensor {
    let t: Vec<f64> = (0..n_points).map(|j| j as f64 / n_points as f64).collect();
    Tensor::from_vec(t, &[n_points, 1]).to_dtype(DType::F32)
}

/// The DFT coefficients of `f` at the target's frequencies.
fn coefficients(predictions: &[f64], freqs: &[usize]) -> Vec<Complex64> {
    let f = dft(predictions);
    freqs.iter().map(|&k| f[k]).collect()
}

fn global_norm(ts: &[Tensor]) -> f64 {
    ts.iter()
        .map(|t| t.square().sum_all().item())
        .sum::<f64>()
        .sqrt()
}

/// Measures [`Robustness`] of `net` (trained on `target`, sampled at `t = j/n_points`) for
/// each `δ = rel·‖θ‖` over `cfg.directions` Gaussian-normalised directions `u`
/// (arXiv 1806.08734, Sec. 3). The parameters are restored afterwards.
pub fn perturbation_robustness(
    net: &Mlp,
    target: &SineTarget,
    n_points: usize,
    cfg: &RobustnessConfig,
) -> Robustness {
    let params = net.parameters();
    let theta: Vec<Tensor> = values(&params);
    let norm = global_norm(&theta);
    let x = grid(n_points);
    let p0 = predict(net, &x);
    let c0 = coefficients(&p0, &target.freqs);
    let base = target.normalized_amplitudes(&p0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let nf = target.freqs.len();
    let (mut amplitude_ratio, mut coherent_ratio) = (Vec::new(), Vec::new());
    for &rel in &cfg.relative_deltas {
        let (mut amp, mut coh) = (vec![0.0; nf], vec![Complex64::new(0.0, 0.0); nf]);
        for _ in 0..cfg.directions {
            let u: Vec<Tensor> = theta
                .iter()
                .map(|t| Tensor::randn(t.shape(), DType::F64, &mut rng))
                .collect();
            let scale = rel * norm / global_norm(&u);
            for ((p, t), ui) in params.iter().zip(&theta).zip(&u) {
                p.set(t.add(&ui.mul_scalar(scale).to_dtype(t.dtype())));
            }
            let c = coefficients(&predict(net, &x), &target.freqs);
            for i in 0..nf {
                amp[i] += c[i].norm() / c0[i].norm() / cfg.directions as f64;
                coh[i] += c[i] / cfg.directions as f64;
            }
        }
        amplitude_ratio.push(amp);
        coherent_ratio.push(
            coh.iter()
                .zip(&c0)
                .map(|(m, b)| (m * b.conj()).re / b.norm_sqr())
                .collect(),
        );
    }
    for (p, t) in params.iter().zip(&theta) {
        p.set(t.clone());
    }
    Robustness {
        base,
        amplitude_ratio,
        coherent_ratio,
    }
}
