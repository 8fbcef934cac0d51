//! Training objectives on several source domains: ERM and three domain-generalisation
//! methods, each a `loss(model, batches, rng)` of one step (one minibatch per domain).
//!
//! - ERM: `mean_e R_e`, the cross-entropy over all domains.
//! - VREx (Krueger et al. 2021, arXiv 2003.00688, DomainBed's implementation):
//!   `mean_e R_e + β Var_e(R_e)` with `β = 1` during warm-up and `β = penalty` after.
//! - CORAL (Sun & Saenko 2016, arXiv 1607.01719, DomainBed's implementation):
//!   `mean_e R_e + λ · mean_{i<j} [mean(μ_i − μ_j)² + mean(C_i − C_j)²]` on the penultimate
//!   features (`μ` mean, `C` unbiased covariance per domain).
//! - Inter-domain Mixup (Yan et al. 2020, arXiv 2001.00677; DomainBed "Mixup"): domains are
//!   paired at random, `x = λ x_i + (1 − λ) x_j`, `λ ~ Beta(α, α)`, loss
//!   `λ CE(x, y_i) + (1 − λ) CE(x, y_j)` (batches of a pair truncated to the shorter).

use flow_core::{DType, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use super::classifier::Classifier;
use super::data::LabeledSet;

/// A training objective.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Objective {
    /// Empirical risk minimisation.
    Erm,
    /// Risk-variance penalty.
    Vrex {
        /// `β` after warm-up.
        penalty: f64,
        /// Steps with `β = 1`.
        warmup: usize,
    },
    /// Feature mean/covariance alignment across domains.
    Coral {
        /// `λ`.
        weight: f64,
    },
    /// Mixup of inputs and labels across domains.
    Mixup {
        /// `α` of `Beta(α, α)`.
        alpha: f64,
    },
}

impl Objective {
    /// Short display name.
    pub fn label(&self) -> &'static str {
        match self {
            Objective::Erm => "ERM",
            Objective::Vrex { .. } => "VREx",
            Objective::Coral { .. } => "CORAL",
            Objective::Mixup { .. } => "Mixup",
        }
    }

    /// The scalar loss of one step; `batches` holds one minibatch per source domain.
    ///
    /// # Panics
    /// If `batches` is empty.
    pub fn loss<R: Rng + ?Sized>(
        &self,
        model: &Classifier,
        batches: &[LabeledSet],
        step: usize,
        rng: &mut R,
    ) -> Tensor {
        assert!(!batches.is_empty(), "Objective::loss: no domain batches");
        let classes = model.head.output_dim();
        match *self {
            Objective::Erm => {
                let risks = domain_risks(model, batches, classes);
                mean(&risks)
            }
            Objective::Vrex { penalty, warmup } => {
                let risks = domain_risks(model, batches, classes);
                let m = mean(&risks);
                let var = mean(&risks.iter().map(|r| r.sub(&m).square()).collect::<Vec<_>>());
                let beta = if step < warmup { 1.0 } else { penalty };
                m.add(&var.mul_scalar(beta))
            }
            Objective::Coral { weight } => {
                let feats: Vec<Tensor> =
                    batches.iter().map(|b| model.features(&b.images)).collect();
                let risks: Vec<Tensor> = feats
                    .iter()
                    .zip(batches)
                    .map(|(f, b)| cross_entropy(&model.logits_of(f), &b.labels, classes))
                    .collect();
                let mut pen = Vec::new();
                for i in 0..feats.len() {
                    for j in i + 1..feats.len() {
                        pen.push(coral_penalty(&feats[i], &feats[j]));
                    }
                }
                let base = mean(&risks);
                if pen.is_empty() {
                    base
                } else {
                    base.add(&mean(&pen).mul_scalar(weight))
                }
            }
            Objective::Mixup { alpha } => mixup_loss(model, batches, alpha, classes, rng),
        }
    }
}

/// Mean of scalar tensors.
fn mean(parts: &[Tensor]) -> Tensor {
    let mut acc = parts[0].clone();
    for p in &parts[1..] {
        acc = acc.add(p);
    }
    acc.mul_scalar(1.0 / parts.len() as f64)
}

/// One-hot `[n, classes]` rows of `labels`.
pub fn one_hot(labels: &[usize], classes: usize, dtype: DType) -> Tensor {
    let mut v = vec![0.0f64; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        v[i * classes + l] = 1.0;
    }
    Tensor::from_vec(v, &[labels.len(), classes]).to_dtype(dtype)
}

/// Mean cross-entropy `−mean_i log softmax(l_i)_{y_i}`.
pub fn cross_entropy(logits: &Tensor, labels: &[usize], classes: usize) -> Tensor {
    let y = one_hot(labels, classes, logits.dtype());
    logits
        .log_softmax(1)
        .mul(&y)
        .sum_axis(1, false)
        .mean_all()
        .neg()
}

fn domain_risks(model: &Classifier, batches: &[LabeledSet], classes: usize) -> Vec<Tensor> {
    batches
        .iter()
        .map(|b| cross_entropy(&model.logits(&b.images), &b.labels, classes))
        .collect()
}

/// `mean((μ_a − μ_b)²) + mean((C_a − C_b)²)` of two `[n, D]` feature batches.
pub fn coral_penalty(a: &Tensor, b: &Tensor) -> Tensor {
    let moments = |x: &Tensor| {
        let mu = x.mean_axis(0, true);
        let c = x.sub(&mu);
        let cov = c
            .t()
            .matmul(&c)
            .mul_scalar(1.0 / (x.dim(0) as f64 - 1.0).max(1.0));
        (mu, cov)
    };
    let (ma, ca) = moments(a);
    let (mb, cb) = moments(b);
    ma.sub(&mb)
        .square()
        .mean_all()
        .add(&ca.sub(&cb).square().mean_all())
}

fn mixup_loss<R: Rng + ?Sized>(
    model: &Classifier,
    batches: &[LabeledSet],
    alpha: f64,
    classes: usize,
    rng: &mut R,
) -> Tensor {
    let beta = Beta::new(alpha, alpha).expect("Mixup: alpha must be positive");
    let mut order: Vec<usize> = (0..batches.len()).collect();
    order.shuffle(rng);
    let mut losses = Vec::new();
    for (i, &j) in order.iter().enumerate() {
        let (a, b) = (&batches[i], &batches[j]);
        let n = a.len().min(b.len());
        let lam: f64 = beta.sample(rng);
        let x = a
            .images
            .narrow(0, 0, n)
            .mul_scalar(lam)
            .add(&b.images.narrow(0, 0, n).mul_scalar(1.0 - lam));
        let logits = model.logits(&x);
        let la = cross_entropy(&logits, &a.labels[..n], classes);
        let lb = cross_entropy(&logits, &b.labels[..n], classes);
        losses.push(la.mul_scalar(lam).add(&lb.mul_scalar(1.0 - lam)));
    }
    mean(&losses)
}
