//! The shared classifier: an MLP `input → hidden (ReLU) → classes` with He initialisation
//! (`competence-regions.md` §4: 64 → 128 → 10). The hidden activations are the
//! penultimate-layer features every feature-based score reads, and the last layer is the
//! `(W, b)` of Energy-ReAct and ViM.

use flow_core::nn::{Init, Linear, LinearConfig, Module, Param};
use flow_core::{DType, Tensor, no_grad};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::input::{Head, Observed};

/// Widths of the classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Input width (64 pixels).
    pub input: usize,
    /// Hidden (feature) width (128).
    pub hidden: usize,
    /// Classes (10, or the known classes of the open world).
    pub classes: usize,
}

/// One-hidden-layer ReLU MLP classifier.
#[derive(Clone, Debug)]
pub struct Classifier {
    /// `input → hidden`, followed by ReLU.
    pub hidden: Linear,
    /// `hidden → classes`: the logits.
    pub head: Linear,
}

impl ClassifierConfig {
    /// Builds the network (f32) with He-normal weights.
    ///
    /// ```
    /// use flow_reject::bench::ClassifierConfig;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    /// let net = ClassifierConfig { input: 64, hidden: 128, classes: 10 }.build(&mut rng);
    /// let x = flow_core::Tensor::zeros(&[5, 64], flow_core::DType::F32);
    /// assert_eq!(net.features(&x).shape(), &[5, 128]);
    /// assert_eq!(net.logits(&x).shape(), &[5, 10]);
    /// ```
    pub fn build<R: Rng + ?Sized>(&self, rng: &mut R) -> Classifier {
        let layer = |i, o, name: &str, rng: &mut R| {
            LinearConfig::new(i, o)
                .with_init(Init::KaimingNormal)
                .build(name, DType::F32, rng)
        };
        Classifier {
            hidden: layer(self.input, self.hidden, "hidden", rng),
            head: layer(self.hidden, self.classes, "head", rng),
        }
    }
}

impl Classifier {
    /// Penultimate features `relu(x W₁ᵀ + b₁)`.
    pub fn features(&self, x: &Tensor) -> Tensor {
        self.hidden.forward(x).relu()
    }

    /// Logits of features.
    pub fn logits_of(&self, features: &Tensor) -> Tensor {
        self.head.forward(features)
    }

    /// Logits of inputs.
    pub fn logits(&self, x: &Tensor) -> Tensor {
        self.logits_of(&self.features(x))
    }

    /// The last layer as f64 matrices.
    pub fn head_matrix(&self) -> Head {
        let w = self.head.weight.get();
        let (c, d) = (w.dim(0), w.dim(1));
        let bias = match &self.head.bias {
            Some(b) => DVector::from_vec(b.get().to_vec_f64()),
            None => DVector::zeros(c),
        };
        Head {
            weight: DMatrix::from_row_slice(c, d, &w.to_vec_f64()),
            bias,
        }
    }

    /// Features and logits of `x` (untracked), as f64 matrices for the scores.
    pub fn observe(&self, x: &Tensor) -> Observed {
        let (f, l) = no_grad(|| {
            let f = self.features(x);
            let l = self.logits_of(&f);
            (f, l)
        });
        let to_matrix = |t: &Tensor| DMatrix::from_row_slice(t.dim(0), t.dim(1), &t.to_vec_f64());
        Observed::new(to_matrix(&f), to_matrix(&l))
    }
}

impl Module for Classifier {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.hidden.parameters();
        p.extend(self.head.parameters());
        p
    }
}
