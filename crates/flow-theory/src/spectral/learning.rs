//! Spectral-bias training experiments (arXiv 1806.08734): learning order of frequencies
//! (Sec. 3, Fig. 1) and inputs on curves of growing complexity (Sec. 4, Fig. 5). The trained
//! networks feed the robustness measurement of [`crate::spectral::robustness`].

use flow_core::nn::{Activation, Mlp, MlpConfig, Module};
use flow_core::train::{TrainConfig, Trainer};
use flow_core::{DType, Tensor, no_grad};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::spectral::spectrum::amplitude_spectrum;

/// `λ(t) = Σ_i A_i sin(2π k_i t + 2π φ_i)` (arXiv 1806.08734, Sec. 3, Eq. 6).
#[derive(Clone, Debug, PartialEq)]
pub struct SineTarget {
    /// Frequencies `k_i` (cycles per unit input).
    pub freqs: Vec<usize>,
    /// Amplitudes `A_i`.
    pub amplitudes: Vec<f64>,
    /// Phases `φ_i ∈ [0, 1)`.
    pub phases: Vec<f64>,
}

impl SineTarget {
    /// Random phases `φ_i ~ U(0, 1)` drawn with `seed`.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn new(freqs: &[usize], amplitudes: &[f64], seed: u64) -> SineTarget {
        assert_eq!(
            freqs.len(),
            amplitudes.len(),
            "SineTarget: {} freqs vs {} amplitudes",
            freqs.len(),
            amplitudes.len()
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let phases = freqs.iter().map(|_| rng.random::<f64>()).collect();
        SineTarget {
            freqs: freqs.to_vec(),
            amplitudes: amplitudes.to_vec(),
            phases,
        }
    }

    /// `λ(t)`.
    pub fn eval(&self, t: f64) -> f64 {
        let tau = 2.0 * std::f64::consts::PI;
        self.freqs
            .iter()
            .zip(&self.amplitudes)
            .zip(&self.phases)
            .map(|((&k, &a), &p)| a * (tau * k as f64 * t + tau * p).sin())
            .sum()
    }

    /// The normalised amplitudes `(2|FFT(f)_{k_i}|/N) / A_i` of sampled predictions.
    pub fn normalized_amplitudes(&self, predictions: &[f64]) -> Vec<f64> {
        let spec = amplitude_spectrum(predictions);
        self.freqs
            .iter()
            .zip(&self.amplitudes)
            .map(|(&k, &a)| spec[k] / a)
            .collect()
    }
}

/// The 1-D learning-order experiment (arXiv 1806.08734, Sec. 3; notebook
/// `ICML_SpectralBias.ipynb`: N = 200, k = 5…50, depth 6, width 256, Adam 3e-4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningOrderConfig {
    /// Sample points `t = j/N`.
    pub n_points: usize,
    /// Frequencies.
    pub freqs: Vec<usize>,
    /// Amplitudes (1 for all, or `0.1 i` for the increasing variant).
    pub amplitudes: Vec<f64>,
    /// Hidden width.
    pub width: usize,
    /// Number of hidden ReLU layers.
    pub depth: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Full-batch iterations.
    pub iterations: usize,
    /// Record the spectrum every this many iterations.
    pub record_every: usize,
    /// Seed for phases and initialisation.
    pub seed: u64,
}

impl LearningOrderConfig {
    /// The paper's frequencies `5, 10, …, 50` with equal amplitudes 1, at the reduced size of
    /// theory.md QB-D3 (width 64, depth 4, lr 1e-3, 6000 iterations).
    pub fn reduced(seed: u64) -> LearningOrderConfig {
        let freqs: Vec<usize> = (1..=10).map(|i| 5 * i).collect();
        LearningOrderConfig {
            n_points: 200,
            amplitudes: vec![1.0; freqs.len()],
            freqs,
            width: 64,
            depth: 4,
            lr: 1e-3,
            iterations: 6000,
            record_every: 100,
            seed,
        }
    }

    /// Amplitudes `A_i = 0.1 i` (the highest frequency is ten times the lowest).
    pub fn with_increasing_amplitudes(mut self) -> LearningOrderConfig {
        self.amplitudes = (1..=self.freqs.len()).map(|i| 0.1 * i as f64).collect();
        self
    }
}

/// Normalised amplitude per frequency against iteration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningTrace {
    /// Iterations at which the spectrum was recorded (0 = initialisation).
    pub iterations: Vec<usize>,
    /// The frequencies.
    pub freqs: Vec<usize>,
    /// `amplitudes[r][i]`: normalised amplitude of frequency `i` at record `r`.
    pub amplitudes: Vec<Vec<f64>>,
    /// MSE at each record.
    pub loss: Vec<f64>,
}

fn build_net(input: usize, width: usize, depth: usize, seed: u64) -> Mlp {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_1e55);
    MlpConfig::new(input, &vec![width; depth], 1)
        .with_activation(Activation::Relu)
        .build("net", DType::F32, &mut rng)
}

pub(crate) fn predict(net: &Mlp, x: &Tensor) -> Vec<f64> {
    no_grad(|| net.forward(x)).to_vec_f64()
}

/// Full-batch Adam on MSE, calling `record(iteration, net)` at 0 and every `every` steps;
/// stops early when `record` returns `true`.
fn fit(
    net: &Mlp,
    x: &Tensor,
    y: &Tensor,
    lr: f64,
    iterations: usize,
    every: usize,
    mut record: impl FnMut(usize, &Mlp) -> bool,
) {
    // Full-batch Adam on the workspace's training loop, run in segments between records.
    let config = TrainConfig::new(iterations as u64, lr);
    let mut trainer = Trainer::new(net.parameters(), config);
    if record(0, net) {
        return;
    }
    let mut done = 0;
    while done < iterations {
        let next = (done + every).min(iterations);
        let fitted = trainer.fit_until(next as u64, |_, _| {
            net.forward(x).sub(y).square().mean_all()
        });
        if fitted.is_err() {
            return; // a non-finite loss: the network keeps its last finite parameters
        }
        done = next;
        if record(done, net) {
            return;
        }
    }
}

/// Trains on the sine target and records the normalised spectrum (arXiv 1806.08734, Sec. 3,
/// Fig. 1: the heat map of `|f̃_θ(k_i)|/A_i` against iteration). Returns the trace and the
/// trained network.
pub fn train_learning_order(cfg: &LearningOrderConfig) -> (LearningTrace, Mlp) {
    train_traced(cfg, None)
}

/// As [`train_learning_order`], but stops at the first record at which every normalised
/// amplitude lies within `tolerance` of 1 (all frequencies learned: the precondition of the
/// robustness measurement, Sec. 3), or after `cfg.iterations`. Check the last record of the
/// trace: the cap may be reached first.
pub fn train_until_learned(cfg: &LearningOrderConfig, tolerance: f64) -> (LearningTrace, Mlp) {
    train_traced(cfg, Some(tolerance))
}

fn train_traced(cfg: &LearningOrderConfig, tolerance: Option<f64>) -> (LearningTrace, Mlp) {
    let target = SineTarget::new(&cfg.freqs, &cfg.amplitudes, cfg.seed);
    let ts: Vec<f64> = (0..cfg.n_points)
        .map(|j| j as f64 / cfg.n_points as f64)
        .collect();
    let x = Tensor::from_vec(ts.clone(), &[cfg.n_points, 1]).to_dtype(DType::F32);
    let yv: Vec<f64> = ts.iter().map(|&t| target.eval(t)).collect();
    let y = Tensor::from_vec(yv.clone(), &[cfg.n_points, 1]).to_dtype(DType::F32);
    let net = build_net(1, cfg.width, cfg.depth, cfg.seed);
    let mut trace = LearningTrace {
        iterations: vec![],
        freqs: cfg.freqs.clone(),
        amplitudes: vec![],
        loss: vec![],
    };
    fit(
        &net,
        &x,
        &y,
        cfg.lr,
        cfg.iterations,
        cfg.record_every,
        |it, net| {
            let p = predict(net, &x);
            trace.iterations.push(it);
            trace.loss.push(
                p.iter().zip(&yv).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / p.len() as f64,
            );
            let amp = target.normalized_amplitudes(&p);
            let done = tolerance.is_some_and(|tol| amp.iter().all(|a| (a - 1.0).abs() <= tol));
            trace.amplitudes.push(amp);
            done
        },
    );
    (trace, net)
}

/// For each frequency, the first recorded iteration at which its normalised amplitude reaches
/// `threshold` (`t_½` of theory.md FULL-D4 for 0.5), or `None`.
pub fn first_crossing(trace: &LearningTrace, threshold: f64) -> Vec<Option<usize>> {
    (0..trace.freqs.len())
        .map(|i| {
            trace
                .amplitudes
                .iter()
                .position(|a| a[i] >= threshold)
                .map(|r| trace.iterations[r])
        })
        .collect()
}

/// Points on `γ_L(φ) = (1 + ½ sin(Lφ)) (cos φ, sin φ)` at `φ_j = 2πj/n`
/// (arXiv 1806.08734, Sec. 4, Eq. 9: the "flower" curves; `L` petals).
pub fn curve_points(petals: usize, n: usize) -> Vec<[f64; 2]> {
    (0..n)
        .map(|j| {
            let phi = 2.0 * std::f64::consts::PI * j as f64 / n as f64;
            let r = 1.0 + 0.5 * (petals as f64 * phi).sin();
            [r * phi.cos(), r * phi.sin()]
        })
        .collect()
}

/// The manifold experiment (arXiv 1806.08734, Sec. 4; notebook `ICML_Manifolds.ipynb`):
/// inputs on `γ_L`, target `Σ sin(k_i φ + 2πψ_i)` along the curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifoldConfig {
    /// Points on the curve.
    pub n_points: usize,
    /// Frequencies along the curve (cycles per turn).
    pub freqs: Vec<usize>,
    /// Number of petals `L`.
    pub petals: usize,
    /// Hidden width.
    pub width: usize,
    /// Hidden ReLU layers.
    pub depth: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Full-batch iterations.
    pub iterations: usize,
    /// Seed.
    pub seed: u64,
}

/// Trains on the curve and returns the normalised amplitude per frequency at the end (the
/// spectrum of `f(γ_L(φ))` over `φ`).
pub fn train_on_curve(cfg: &ManifoldConfig) -> Vec<f64> {
    let target = SineTarget::new(&cfg.freqs, &vec![1.0; cfg.freqs.len()], cfg.seed);
    let pts = curve_points(cfg.petals, cfg.n_points);
    let x = Tensor::from_vec(
        pts.iter().flatten().copied().collect::<Vec<f64>>(),
        &[cfg.n_points, 2],
    )
    .to_dtype(DType::F32);
    let yv: Vec<f64> = (0..cfg.n_points)
        .map(|j| target.eval(j as f64 / cfg.n_points as f64))
        .collect();
    let y = Tensor::from_vec(yv, &[cfg.n_points, 1]).to_dtype(DType::F32);
    let net = build_net(2, cfg.width, cfg.depth, cfg.seed);
    let mut last = Vec::new();
    fit(
        &net,
        &x,
        &y,
        cfg.lr,
        cfg.iterations,
        cfg.iterations.max(1),
        |_, net| {
            last = target.normalized_amplitudes(&predict(net, &x));
            false
        },
    );
    last
}
