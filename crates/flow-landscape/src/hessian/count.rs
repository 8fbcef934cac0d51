//! Counting near-zero Hessian eigenvalues beyond the symmetries, and curvature along chosen
//! directions (the paper's "at least one vanishing eigenvalue beyond trivial invariance").

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::dense::symmetric_eigenvalues;
use super::symmetry::project_complement;
use crate::objective::{Landscape, dot};

/// The spectrum of `PHP` (`P` projects out the symmetry span) and its near-zero count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlatCount {
    /// Eigenvalues of `PHP`, ascending.
    pub eigenvalues: Vec<f64>,
    /// Largest `|λ|` of `PHP`.
    pub lambda_max: f64,
    /// Relative threshold: `|λ| ≤ rel_tol · λ_max` counts as zero.
    pub rel_tol: f64,
    /// Dimension of the projected-out symmetry span (each gives one exact zero of `PHP`).
    pub symmetry_rank: usize,
    /// Near-zero eigenvalues of `PHP` in total.
    pub near_zero: usize,
}

impl FlatCount {
    /// Near-zero eigenvalues beyond the symmetry span (`near_zero − symmetry_rank`, at least 0).
    pub fn beyond_symmetries(&self) -> usize {
        self.near_zero.saturating_sub(self.symmetry_rank)
    }

    /// Mean curvature over directions drawn uniformly from the unit sphere of the complement
    /// of the symmetry span: `E[uᵀHu] = tr(PHP)/(n − r)` exactly (the `r` symmetry
    /// eigenvalues of `PHP` are zero, so the trace is the sum of all eigenvalues).
    pub fn mean_curvature(&self) -> f64 {
        self.eigenvalues.iter().sum::<f64>() / self.complement_dim()
    }

    /// Standard deviation of one such direction's Rayleigh quotient: for `u` uniform on the
    /// unit sphere of `ℝᵈ` and symmetric `A`, `Var(uᵀAu) = 2(tr(A²)/d − (tr A/d)²)/(d + 2)`.
    pub fn curvature_sd(&self) -> f64 {
        let d = self.complement_dim();
        let m2 = self.eigenvalues.iter().map(|x| x * x).sum::<f64>() / d;
        let m = self.mean_curvature();
        (2.0 * (m2 - m * m).max(0.0) / (d + 2.0)).sqrt()
    }

    /// Share of directions drawn uniformly from the unit sphere of the symmetry complement
    /// whose curvature `uᵀHu` is at most `c`, with its Monte-Carlo standard error over
    /// `samples` draws: the percentile of `c` in the random-direction distribution.
    ///
    /// In the eigenbasis of `PHP` restricted to the complement a uniform unit direction is
    /// `z/‖z‖` with `z` standard normal, so `uᵀHu = Σ λ_i z_i² / Σ z_i²` over the `n − r`
    /// complement eigenvalues (no HVPs needed). The complement drops the `r` eigenvalues of
    /// smallest `|λ|` (the symmetry zeros; when the near-zero cluster is larger than `r` the
    /// choice among its members moves the distribution by at most `rel_tol·λ_max`). The
    /// standard error is `√(p(1 − p)/M)` with `p` floored at `1/M`, so that a share of 0 still
    /// carries the resolution of `M` draws.
    pub fn share_flatter_than(&self, c: f64, samples: usize, rng: &mut impl Rng) -> (f64, f64) {
        let mut by_size = self.eigenvalues.clone();
        by_size.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
        let lambdas = &by_size[self.symmetry_rank.min(by_size.len())..];
        let m = samples.max(1);
        let below = (0..m)
            .filter(|_| {
                let (mut num, mut den) = (0.0, 0.0);
                for &l in lambdas {
                    let z: f64 = StandardNormal.sample(rng);
                    num += l * z * z;
                    den += z * z;
                }
                num <= c * den
            })
            .count();
        let share = below as f64 / m as f64;
        let floor = share.max(1.0 / m as f64);
        (share, (floor * (1.0 - floor) / m as f64).sqrt())
    }

    fn complement_dim(&self) -> f64 {
        (self.eigenvalues.len() - self.symmetry_rank).max(1) as f64
    }
}

/// Spectrum of `PHP` for a dense Hessian `h` and an orthonormal symmetry `basis`.
pub fn count_flat(h: &DMatrix<f64>, basis: &[Vec<f64>], rel_tol: f64) -> FlatCount {
    let eigenvalues = symmetric_eigenvalues(&project_hessian(h, basis));
    let lambda_max = eigenvalues.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let near_zero = eigenvalues
        .iter()
        .filter(|x| x.abs() <= rel_tol * lambda_max)
        .count();
    FlatCount {
        eigenvalues,
        lambda_max,
        rel_tol,
        symmetry_rank: basis.len(),
        near_zero,
    }
}

/// `PHP` (symmetrised) for `P = I − QQᵀ`, `Q` the orthonormal symmetry `basis`.
pub fn project_hessian(h: &DMatrix<f64>, basis: &[Vec<f64>]) -> DMatrix<f64> {
    // PHP = (I − QQᵀ)H(I − QQᵀ) = H − HQQᵀ − QQᵀH + Q(QᵀHQ)Qᵀ for the n×r matrix Q of the
    // orthonormal basis: rank-r updates, O(n²r) instead of two dense n³ products.
    let n = h.nrows();
    let q = DMatrix::from_fn(n, basis.len(), |i, j| basis[j][i]);
    let hq = h * &q; // n×r
    let qt_hq = q.transpose() * &hq; // r×r
    let php = h - &hq * q.transpose() - &q * hq.transpose() + &q * qt_hq * q.transpose();
    (&php + php.transpose()) * 0.5
}

/// Rayleigh quotient `vᵀHv / vᵀv` of the symmetry-projected direction `v` at `θ`.
pub fn curvature_along<L: Landscape + ?Sized>(
    landscape: &L,
    theta: &[f64],
    basis: &[Vec<f64>],
    v: &[f64],
) -> f64 {
    let w = project_complement(basis, v);
    let hw = landscape.hvp(theta, &w);
    dot(&w, &hw) / dot(&w, &w)
}
