//! Classifier two-sample test (Lopez-Paz & Oquab, arXiv 1610.06545), as sbibm's `c2st`
//! (Lueckmann et al., arXiv 2101.04653): standardise the pooled samples, train an MLP to tell
//! them apart with K-fold cross-validation, report the mean held-out accuracy.
//! 0.5 = indistinguishable; 1 = perfectly separable.

use flow_core::nn::{Activation, MlpConfig, Module};
use flow_core::train::{NonFinitePolicy, TrainConfig, Trainer};
use flow_core::{DType, Tensor};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

/// C2ST settings (sbibm: 5 folds, two hidden layers of width 10·d, ReLU, Adam).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct C2stConfig {
    /// Cross-validation folds.
    pub folds: usize,
    /// Hidden width = `hidden_factor · d`.
    pub hidden_factor: usize,
    /// Full-batch Adam steps per fold.
    pub steps: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed for the shuffle and the initialisation.
    pub seed: u64,
}

impl Default for C2stConfig {
    fn default() -> Self {
        Self {
            folds: 5,
            hidden_factor: 10,
            steps: 400,
            lr: 1e-2,
            seed: 0,
        }
    }
}

/// Mean held-out accuracy of a classifier separating `x: [n, d]` from `y: [m, d]`.
///
/// # Panics
/// If the shapes do not agree, or `folds < 2`.
pub fn c2st(x: &Tensor, y: &Tensor, cfg: &C2stConfig) -> f64 {
    assert!(
        x.ndim() == 2 && y.ndim() == 2 && x.dim(1) == y.dim(1),
        "c2st: shapes {:?} {:?}",
        x.shape(),
        y.shape()
    );
    assert!(cfg.folds >= 2, "c2st: need ≥ 2 folds");
    let (n, m, d) = (x.dim(0), y.dim(0), x.dim(1));
    let data = Tensor::concat(&[&x.to_dtype(DType::F64), &y.to_dtype(DType::F64)], 0);
    let mu = data.mean_axis(0, true);
    let sd = data.var_axis(0, true).add_scalar(1e-12).sqrt();
    let data = data.sub(&mu).div(&sd);
    let labels: Vec<f64> = (0..n + m).map(|i| (i >= n) as u8 as f64).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let mut idx: Vec<usize> = (0..n + m).collect();
    idx.shuffle(&mut rng);
    let mut correct = 0.0;
    for f in 0..cfg.folds {
        let test: Vec<usize> = idx
            .iter()
            .enumerate()
            .filter(|(k, _)| k % cfg.folds == f)
            .map(|(_, &i)| i)
            .collect();
        let train: Vec<usize> = idx
            .iter()
            .enumerate()
            .filter(|(k, _)| k % cfg.folds != f)
            .map(|(_, &i)| i)
            .collect();
        let net = MlpConfig::new(d, &[cfg.hidden_factor * d; 2], 1)
            .with_activation(Activation::Relu)
            .build("c2st", DType::F64, &mut rng);
        let xt = data.index_select(0, &train);
        let yt = Tensor::from_vec(
            train.iter().map(|&i| labels[i]).collect(),
            &[train.len(), 1],
        );
        // Full-batch Adam on the workspace's training loop; a non-finite step is skipped
        // (never applied), however many there are, as the classifier has no checkpoint to
        // fall back to.
        let config =
            TrainConfig::new(cfg.steps as u64, cfg.lr).with_non_finite(NonFinitePolicy::Skip {
                max_consecutive: usize::MAX,
            });
        let fitted = Trainer::new(net.parameters(), config).fit(|_, _| {
            let z = net.forward(&xt);
            // Binary cross-entropy with logits: softplus(z) − y z.
            z.softplus().sub(&z.mul(&yt)).mean_all()
        });
        debug_assert!(
            fitted.is_ok(),
            "no checkpoint, unlimited skips: cannot fail"
        );
        let logits = flow_core::no_grad(|| net.forward(&data.index_select(0, &test))).to_vec_f64();
        correct += logits
            .iter()
            .zip(&test)
            .filter(|(z, i)| (**z > 0.0) == (labels[**i] > 0.5))
            .count() as f64;
    }
    correct / (n + m) as f64
}
