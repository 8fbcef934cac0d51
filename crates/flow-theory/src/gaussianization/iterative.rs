//! Iterative Gaussianization on data: rotation + marginal Gaussianisation per layer, fitted
//! layer-wise without backpropagation (arXiv 2306.13520, Sec. 2, Eq. 1; code
//! `gaussianization.py` with `loss_free=True`).

use nalgebra::DMatrix;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::gaussianization::marginal::MarginalGaussianizer;
use crate::linalg::{empirical_moments, haar_rotation, sym_eigen_descending};

/// How each layer chooses its rotation (arXiv 2306.13520, Sec. 6: random vs learned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationKind {
    /// A fresh Haar-random rotation per layer.
    Haar,
    /// The principal axes of the current data (eigenvectors of its covariance).
    Pca,
    /// No rotation (only for tests: a single marginal pass).
    Identity,
}

/// One layer: `z = G(x Qᵀ)` with per-dimension marginal maps `G`.
#[derive(Clone, Debug)]
struct Layer {
    rotation: DMatrix<f64>,
    marginals: Vec<MarginalGaussianizer>,
}

/// A stack of Gaussianization layers fitted on training data.
#[derive(Clone, Debug, Default)]
pub struct IterativeGaussianization {
    layers: Vec<Layer>,
}

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

fn standard_normal_nll(z: &DMatrix<f64>, log_det: &[f64]) -> f64 {
    let d = z.ncols() as f64;
    let n = z.nrows();
    (0..n)
        .map(|i| 0.5 * z.row(i).norm_squared() + d * HALF_LN_2PI - log_det[i])
        .sum::<f64>()
        / n as f64
}

impl IterativeGaussianization {
    /// Fits `layers` layers on the rows of `x` (`[n, D]`), each marginal with `knots` quantile
    /// knots. Returns the model and the training NLL after `0, 1, …, layers` layers (nats per
    /// sample; after 0 layers it is the NLL of `x` under `N(0, I)`).
    ///
    /// # Panics
    /// If `x` has fewer than two rows.
    pub fn fit<R: Rng + ?Sized>(
        x: &DMatrix<f64>,
        layers: usize,
        kind: RotationKind,
        knots: usize,
        rng: &mut R,
    ) -> (IterativeGaussianization, Vec<f64>) {
        assert!(
            x.nrows() >= 2,
            "IterativeGaussianization::fit: need ≥ 2 rows"
        );
        let d = x.ncols();
        let mut z = x.clone();
        let mut log_det = vec![0.0; x.nrows()];
        let mut nll = vec![standard_normal_nll(&z, &log_det)];
        let mut model = IterativeGaussianization::default();
        for _ in 0..layers {
            let rotation = match kind {
                RotationKind::Haar => haar_rotation(d, rng),
                RotationKind::Pca => sym_eigen_descending(&empirical_moments(&z).1).1.transpose(),
                RotationKind::Identity => DMatrix::identity(d, d),
            };
            let rotated = &z * rotation.transpose();
            let marginals: Vec<MarginalGaussianizer> = (0..d)
                .map(|j| MarginalGaussianizer::fit(rotated.column(j).as_slice(), knots))
                .collect();
            let layer = Layer {
                rotation,
                marginals,
            };
            z = layer.apply(&z, &mut log_det);
            nll.push(standard_normal_nll(&z, &log_det));
            model.layers.push(layer);
        }
        (model, nll)
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The NLL of the rows of `x` after `0, 1, …, len` layers (nats per sample):
    /// `−log p(x) = −log N(z_l) − Σ_{≤l} log|det ∂z/∂x|`.
    pub fn nll_per_layer(&self, x: &DMatrix<f64>) -> Vec<f64> {
        let mut z = x.clone();
        let mut log_det = vec![0.0; x.nrows()];
        let mut out = vec![standard_normal_nll(&z, &log_det)];
        for layer in &self.layers {
            z = layer.apply(&z, &mut log_det);
            out.push(standard_normal_nll(&z, &log_det));
        }
        out
    }

    /// The latent of `x` after all layers and the log-determinant per row.
    pub fn forward(&self, x: &DMatrix<f64>) -> (DMatrix<f64>, Vec<f64>) {
        let mut z = x.clone();
        let mut log_det = vec![0.0; x.nrows()];
        for layer in &self.layers {
            z = layer.apply(&z, &mut log_det);
        }
        (z, log_det)
    }

    /// The inverse map (sampling direction).
    pub fn inverse(&self, z: &DMatrix<f64>) -> DMatrix<f64> {
        let mut x = z.clone();
        for layer in self.layers.iter().rev() {
            let mut y = x.clone();
            for (j, m) in layer.marginals.iter().enumerate() {
                for i in 0..y.nrows() {
                    y[(i, j)] = m.inverse(x[(i, j)]);
                }
            }
            // Rows: x_prev Qᵀ = y  ⇒  x_prev = y Q.
            x = y * &layer.rotation;
        }
        x
    }
}

impl Layer {
    fn apply(&self, x: &DMatrix<f64>, log_det: &mut [f64]) -> DMatrix<f64> {
        let mut z = x * self.rotation.transpose();
        for (j, m) in self.marginals.iter().enumerate() {
            for i in 0..z.nrows() {
                let (v, ld) = m.forward(z[(i, j)]);
                z[(i, j)] = v;
                log_det[i] += ld;
            }
        }
        z
    }
}
