//! The 8×8 digits classification task of the experiments: a ReLU MLP, mean cross-entropy
//! (the data loss, without weight decay, whose Hessian the symmetry identities hold for), the
//! error rate, and minima trained from different seeds.

use flow_core::nn::{Activation, Mlp, MlpConfig, Module};
use flow_core::train::{TrainConfig, TrainError, Trainer};
use flow_core::{DType, Tensor, no_grad};
use flow_data::digits::{Digits, PIXELS};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::flat::FlatLayout;
use crate::objective::ModuleLandscape;

/// Classes of the digits.
pub const CLASSES: usize = 10;

/// Inputs (pixels / 16), one-hot targets and labels of one split.
#[derive(Clone, Debug)]
pub struct Split {
    /// `[n, 64]` in `[0, 1]`, f64.
    pub x: Tensor,
    /// `[n, 10]` one-hot, f64.
    pub onehot: Tensor,
    /// Labels.
    pub labels: Vec<u8>,
}

impl Split {
    fn of(d: &Digits) -> Split {
        let n = d.len();
        let mut oh = vec![0.0; n * CLASSES];
        for (i, &l) in d.labels.iter().enumerate() {
            oh[i * CLASSES + l as usize] = 1.0;
        }
        Split {
            x: d.images(),
            onehot: Tensor::from_vec(oh, &[n, CLASSES]),
            labels: d.labels.clone(),
        }
    }

    /// The rows at `idx`.
    pub fn rows(&self, idx: &[usize]) -> Split {
        Split {
            x: self.x.index_select(0, idx),
            onehot: self.onehot.index_select(0, idx),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Train and test parts of the vendored digits (shuffled with `seed`; test = the rest).
#[derive(Clone, Debug)]
pub struct DigitsTask {
    /// Training examples.
    pub train: Split,
    /// Held-out examples.
    pub test: Split,
}

impl DigitsTask {
    /// `train` training images, the remaining `1797 − train` as test.
    ///
    /// # Panics
    /// If `train > 1797`.
    pub fn new(train: usize, seed: u64) -> DigitsTask {
        let s = Digits::vendored().split(train, 0, seed);
        DigitsTask {
            train: Split::of(&s.train),
            test: Split::of(&s.test),
        }
    }
}

/// Mean cross-entropy `−(1/n) Σ log softmax(z)_y` of `[n, 10]` logits.
pub fn cross_entropy(logits: &Tensor, onehot: &Tensor) -> Tensor {
    logits
        .log_softmax(1)
        .mul(onehot)
        .sum_all()
        .mul_scalar(-1.0 / logits.dim(0) as f64)
}

/// Fraction of rows whose arg-max logit is not the label.
pub fn error_rate(logits: &Tensor, labels: &[u8]) -> f64 {
    let v = logits.to_vec_f64();
    let wrong = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            let row = &v[i * CLASSES..(i + 1) * CLASSES];
            let best = (0..CLASSES).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            best != **l as usize
        })
        .count();
    wrong as f64 / labels.len().max(1) as f64
}

/// A ReLU MLP `64 → hidden… → 10` in f64, PyTorch-default initialisation from `seed`.
pub fn relu_mlp(hidden: &[usize], seed: u64) -> Mlp {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    MlpConfig::new(PIXELS, hidden, CLASSES)
        .with_activation(Activation::Relu)
        .build("mlp", DType::F64, &mut rng)
}

/// The full-batch data loss of `mlp` on `split` as a [`ModuleLandscape`].
pub fn split_landscape(mlp: &Mlp, split: &Split) -> ModuleLandscape<impl Fn() -> Tensor> {
    let (net, x, y) = (mlp.clone(), split.x.clone(), split.onehot.clone());
    ModuleLandscape::new(FlatLayout::of(mlp), move || {
        cross_entropy(&net.forward(&x), &y)
    })
}

/// `(loss, error)` of `mlp` with flat parameters `theta` on `split`.
///
/// # Panics
/// If `theta` does not fit `mlp`.
pub fn evaluate(mlp: &Mlp, theta: &[f64], split: &Split) -> (f64, f64) {
    FlatLayout::of(mlp)
        .load(theta)
        .unwrap_or_else(|e| panic!("evaluate: {e}"));
    no_grad(|| {
        let z = mlp.forward(&split.x);
        (
            cross_entropy(&z, &split.onehot).item(),
            error_rate(&z, &split.labels),
        )
    })
}

/// Settings for training one minimum with the shared engine ([`flow_core::train`]): Adam on
/// minibatches drawn from each step's own random stream, then a second run of full-batch Adam
/// at a tenth of the rate (fresh moments) that polishes the minimum so that the gradient is
/// small.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Minibatch steps.
    pub steps: usize,
    /// Minibatch size (drawn with replacement).
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Full-batch polishing steps (learning rate `lr/10`).
    pub polish_steps: usize,
    /// Decoupled weight decay of Adam (AdamW).
    pub weight_decay: f64,
}

/// The data loss of one minibatch: `batch` rows drawn with replacement from `rng`.
pub fn minibatch_loss<R: rand::Rng + ?Sized>(
    mlp: &Mlp,
    split: &Split,
    batch: usize,
    rng: &mut R,
) -> Tensor {
    let idx: Vec<usize> = (0..batch)
        .map(|_| rng.random_range(0..split.len()))
        .collect();
    let b = split.rows(&idx);
    cross_entropy(&mlp.forward(&b.x), &b.onehot)
}

/// Trains `mlp` in place on `split` (step streams seeded by `seed`); returns the final
/// full-batch training loss.
///
/// # Errors
/// [`TrainError`] if a loss or gradient turns non-finite (the model keeps its last finite
/// parameters).
pub fn train_minimum(
    mlp: &Mlp,
    split: &Split,
    s: &TrainSettings,
    seed: u64,
) -> Result<f64, TrainError> {
    let config = TrainConfig::new(s.steps as u64, s.lr)
        .with_weight_decay(s.weight_decay)
        .with_seed(seed);
    Trainer::new(mlp.parameters(), config)
        .fit(|_, rng| minibatch_loss(mlp, split, s.batch, rng))?;
    let polish = TrainConfig::new(s.polish_steps as u64, s.lr / 10.0)
        .with_weight_decay(s.weight_decay)
        .with_seed(seed ^ 0x9011_5400);
    Trainer::new(mlp.parameters(), polish)
        .fit(|_, _| cross_entropy(&mlp.forward(&split.x), &split.onehot))?;
    Ok(no_grad(|| {
        cross_entropy(&mlp.forward(&split.x), &split.onehot).item()
    }))
}
