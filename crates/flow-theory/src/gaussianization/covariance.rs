//! Gaussianization layers on Gaussian input, computed on the covariance alone
//! (arXiv 2306.13520, Sec. 4, Gaussian input; theory.md B.1).

use nalgebra::DMatrix;
use rand::Rng;

use crate::linalg::{
    gaussian_matrix, haar_rotation, normalize_unit_diagonal, rotate_covariance, symmetrize,
};
use crate::whitening::nonstandardness::non_standardness_cov;

/// One layer on `N(0, Σ)`: the rotation gives `QΣQᵀ`, marginal Gaussianisation of a Gaussian
/// is the diagonal rescaling `N(·)`, so `Σ' = N(QΣQᵀ)` (arXiv 2306.13520, Sec. 4).
pub fn gaussianization_layer(cov: &DMatrix<f64>, q: &DMatrix<f64>) -> DMatrix<f64> {
    normalize_unit_diagonal(&rotate_covariance(cov, q))
}

/// The predicted per-layer contraction of `S` near the identity, `1 − 2/(D+2)`
/// (arXiv 2306.13520, main theorem: layers needed grow linearly in `D`; derivation in
/// theory.md B.1: `E_Q[ΔS] = 2/(D+2) · S + o(S)`).
pub fn predicted_contraction(d: usize) -> f64 {
    1.0 - 2.0 / (d as f64 + 2.0)
}

/// `Var(qᵀΣq)` for `q` uniform on the sphere:
/// `2(D Σλ² − (Σλ)²) / (D²(D+2))`, which is `2(Σλ² − D)/(D(D+2))` when `tr Σ = D`
/// (arXiv 2306.13520, Sec. 4, the variance identity behind the `2/(D+2)` rate).
pub fn sphere_quadratic_variance(eigenvalues: &[f64]) -> f64 {
    let d = eigenvalues.len() as f64;
    let s1: f64 = eigenvalues.iter().sum();
    let s2: f64 = eigenvalues.iter().map(|l| l * l).sum();
    2.0 * (d * s2 - s1 * s1) / (d * d * (d + 2.0))
}

/// `N(I + εE/√D)` with `E` a symmetric Gaussian matrix (`(G + Gᵀ)/√2`): a unit-diagonal
/// covariance near the identity (theory.md PT-B1).
///
/// # Panics
/// If the perturbation is so large that the result is not positive definite.
pub fn near_identity_covariance<R: Rng + ?Sized>(d: usize, eps: f64, rng: &mut R) -> DMatrix<f64> {
    let g = gaussian_matrix(d, d, rng);
    let e = symmetrize(&(&g + g.transpose())) * std::f64::consts::FRAC_1_SQRT_2;
    let c = DMatrix::identity(d, d) + e * (eps / (d as f64).sqrt());
    assert!(
        c.clone().cholesky().is_some(),
        "near_identity_covariance: ε = {eps} too large for D = {d}"
    );
    normalize_unit_diagonal(&c)
}

/// Number of layers (each with a fresh Haar rotation) until `S ≤ S₀ / factor`, with the
/// trajectory of `S`; `None` if `max_layers` do not suffice. `layer` maps `(Σ, Q)` to the next
/// covariance, so the same counter serves Gaussianization and coupling blocks
/// (arXiv 2306.13520, Sec. 5, layers needed vs dimension).
pub fn layers_to_reduce<R: Rng + ?Sized>(
    cov: &DMatrix<f64>,
    factor: f64,
    max_layers: usize,
    rng: &mut R,
    layer: impl Fn(&DMatrix<f64>, &DMatrix<f64>) -> DMatrix<f64>,
) -> (Option<usize>, Vec<f64>) {
    let mut c = normalize_unit_diagonal(cov);
    let s0 = non_standardness_cov(&c);
    let mut s = vec![s0];
    for l in 1..=max_layers {
        let q = haar_rotation(c.nrows(), rng);
        c = layer(&c, &q);
        let v = non_standardness_cov(&c);
        s.push(v);
        if v <= s0 / factor {
            return (Some(l), s);
        }
    }
    (None, s)
}
