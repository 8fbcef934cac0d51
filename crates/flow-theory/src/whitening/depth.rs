//! Iterating optimal linear blocks and fitting the geometric rate (arXiv 2210.14032, Sec. 4,
//! linear convergence; notebook A.4).

use nalgebra::DMatrix;
use rand::Rng;

use crate::linalg::{haar_rotation, normalize_unit_diagonal, wishart_unit_diagonal};
use crate::stats::{LineFit, fit_line};
use crate::whitening::block::optimal_linear_block;
use crate::whitening::nonstandardness::non_standardness_cov;

/// `S` after `0, 1, …, blocks` optimal linear blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthRun {
    /// `s[l]` is the non-standardness after `l` blocks (`s[0]` is the input, after the
    /// initial ActNorm `N(Σ)`).
    pub s: Vec<f64>,
}

/// Applies `blocks` optimal linear blocks with a fresh Haar rotation each and records `S`
/// (arXiv 2210.14032, Sec. 4: the depth-L loss is bounded by `G + S_L`). The input is first
/// normalised to unit diagonal (the ActNorm every coupling flow starts with).
///
/// # Panics
/// If `1 ≤ d_a < D` fails or `Σ` is not positive definite.
pub fn whiten_depth<R: Rng + ?Sized>(
    cov: &DMatrix<f64>,
    d_active: usize,
    blocks: usize,
    rng: &mut R,
) -> DepthRun {
    let mut c = normalize_unit_diagonal(cov);
    let mut s = vec![non_standardness_cov(&c)];
    for _ in 0..blocks {
        let q = haar_rotation(c.nrows(), rng);
        c = optimal_linear_block(&c, &q, d_active);
        s.push(non_standardness_cov(&c));
    }
    DepthRun { s }
}

/// `runs` independent [`whiten_depth`] runs on fresh Wishart covariances
/// ([`wishart_unit_diagonal`]`(d)`), run `k` drawing everything from
/// `flow_core::parallel::chunk_rng(seed, k)`; the runs share the `flow_core::parallel`
/// threads, and the result (in run order) is bit-identical for any thread count.
///
/// # Panics
/// As [`whiten_depth`].
pub fn whiten_depth_runs(
    d: usize,
    d_active: usize,
    blocks: usize,
    runs: usize,
    seed: u64,
) -> Vec<DepthRun> {
    flow_core::parallel::map_chunks(runs, 1, |k, _| {
        let mut rng = flow_core::parallel::chunk_rng(seed, k);
        let cov = wishart_unit_diagonal(d, &mut rng);
        whiten_depth(&cov, d_active, blocks, &mut rng)
    })
}

/// Least-squares fit of `log S_l` against `l` over `l ≥ first` and `S_l > floor`; the
/// per-block rate is `exp(slope)`. Returns `None` with fewer than three usable points.
pub fn fit_rate(s: &[f64], first: usize, floor: f64) -> Option<LineFit> {
    let (x, y): (Vec<f64>, Vec<f64>) = s
        .iter()
        .enumerate()
        .skip(first)
        .filter(|(_, v)| **v > floor)
        .map(|(l, v)| (l as f64, v.ln()))
        .unzip();
    (x.len() >= 3).then(|| fit_line(&x, &y))
}
