//! Incompetence scores (arXiv 2303.09989, Sec. 3; official code `scores.py`): fitted on
//! in-distribution training features and logits, **higher = less competent**. One file per
//! score, each with its formula and reference.

mod energy;
mod gaussian;
mod gmm;
mod hbos;
mod knn;
mod logit;
mod mahalanobis;
mod pca;
mod react;
mod softmax;
mod vim;

pub use energy::Energy;
pub use gaussian::GaussianDensity;
pub use gmm::Gmm;
pub use hbos::Hbos;
pub use knn::DeepKnn;
pub use logit::MaxLogit;
pub use mahalanobis::Mahalanobis;
pub use pca::PcaError;
pub use react::EnergyReact;
pub use softmax::Softmax;
pub use vim::{Vim, VimFit, paper_dim};

use serde::{Deserialize, Serialize};

use crate::error::RejectError;
use crate::input::{FitData, Observed};

/// An incompetence score: fitted once on in-distribution training data, then evaluated on any
/// samples; higher values mean the classifier is less competent there.
///
/// ```
/// use flow_reject::{IncompetenceScore, Observed, FitData, Head, scores::Energy};
/// use nalgebra::{DMatrix, DVector};
/// let obs = Observed::new(DMatrix::zeros(2, 3), DMatrix::from_row_slice(2, 2, &[0.0, 0.0, 5.0, 0.0]));
/// let head = Head { weight: DMatrix::zeros(2, 3), bias: DVector::zeros(2) };
/// let mut s = Energy::default();
/// s.fit(&FitData { train: &obs, labels: &[0, 0], head: &head }).unwrap();
/// let v = s.score(&obs).unwrap();
/// assert!(v[0] > v[1]); // the confident sample is more competent
/// ```
pub trait IncompetenceScore {
    /// Short display name.
    fn name(&self) -> &'static str;
    /// Fits the score's statistics on the in-distribution training set.
    ///
    /// # Errors
    /// Non-finite inputs, too few samples, invalid settings.
    fn fit(&mut self, data: &FitData<'_>) -> Result<(), RejectError>;
    /// Scores each sample (higher = less competent).
    ///
    /// # Errors
    /// Non-finite inputs, widths that differ from the fit, or a score used before `fit`.
    fn score(&self, obs: &Observed) -> Result<Vec<f64>, RejectError>;
}

/// The error of a score evaluated before it was fitted.
pub(crate) fn not_fitted(score: &'static str) -> RejectError {
    RejectError::InvalidConfig {
        score,
        message: "score() called before fit()".into(),
    }
}

/// The ten scores with their default settings (`competence-regions.md` §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScoreKind {
    /// [`Softmax`].
    Softmax,
    /// [`MaxLogit`].
    MaxLogit,
    /// [`Energy`].
    Energy,
    /// [`EnergyReact`].
    EnergyReact,
    /// [`DeepKnn`].
    DeepKnn,
    /// [`Mahalanobis`].
    Mahalanobis,
    /// [`Vim`].
    Vim,
    /// [`GaussianDensity`] (the paper's one-component GMM; [`Gmm`] fits `K > 1` by EM).
    Gmm,
    /// [`Hbos`].
    Hbos,
    /// [`PcaError`].
    Pca,
}

impl ScoreKind {
    /// All ten, logit-based first.
    pub const ALL: [ScoreKind; 10] = [
        ScoreKind::Softmax,
        ScoreKind::MaxLogit,
        ScoreKind::Energy,
        ScoreKind::EnergyReact,
        ScoreKind::DeepKnn,
        ScoreKind::Mahalanobis,
        ScoreKind::Vim,
        ScoreKind::Gmm,
        ScoreKind::Hbos,
        ScoreKind::Pca,
    ];

    /// A fresh, unfitted score with the default settings; `vim_dim` is ViM's principal
    /// dimension (32 for the 128-wide digits MLP, §4).
    pub fn build(self, vim_dim: usize) -> Box<dyn IncompetenceScore> {
        match self {
            ScoreKind::Softmax => Box::new(Softmax),
            ScoreKind::MaxLogit => Box::new(MaxLogit),
            ScoreKind::Energy => Box::new(Energy),
            ScoreKind::EnergyReact => Box::new(EnergyReact::new(0.99)),
            ScoreKind::DeepKnn => Box::new(DeepKnn::new(1)),
            ScoreKind::Mahalanobis => Box::new(Mahalanobis::default()),
            ScoreKind::Vim => Box::new(Vim::new(vim_dim)),
            ScoreKind::Gmm => Box::new(GaussianDensity::default()),
            ScoreKind::Hbos => Box::new(Hbos::new(10)),
            ScoreKind::Pca => Box::new(PcaError::new(0.9)),
        }
    }

    /// Builds and fits in one call.
    ///
    /// # Errors
    /// As [`IncompetenceScore::fit`].
    pub fn fit(
        self,
        vim_dim: usize,
        data: &FitData<'_>,
    ) -> Result<Box<dyn IncompetenceScore>, RejectError> {
        let mut s = self.build(vim_dim);
        s.fit(data)?;
        Ok(s)
    }

    /// Display name.
    pub fn label(self) -> &'static str {
        self.build(1).name()
    }

    /// Whether the score reads only the logits (Softmax, MaxLogit, Energy).
    pub fn is_logit_based(self) -> bool {
        matches!(
            self,
            ScoreKind::Softmax | ScoreKind::MaxLogit | ScoreKind::Energy
        )
    }
}
