//! Small dense linear algebra on covariance matrices (nalgebra, f64): Haar rotations, the
//! unit-diagonal normalisation `N(C)`, log-determinants by Cholesky, random covariances.
//! The decompositions (QR, Cholesky, symmetric eigen) are flow-core's one interface,
//! [`flow_core::linalg`], whatever its backend.

use flow_core::linalg;
use nalgebra::{DMatrix, DVector};
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A `rows × cols` matrix of independent standard normals.
pub fn gaussian_matrix<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| StandardNormal.sample(rng))
}

/// A Haar-distributed (uniformly random) orthogonal `d × d` matrix: QR of a Gaussian matrix,
/// then `Q · diag(sign(diag R))` so the law is exactly Haar (Mezzadri 2007, arXiv
/// math-ph/0609050, §5; theory.md "Cross-cutting notes").
///
/// # Panics
/// If `d == 0`.
pub fn haar_rotation<R: Rng + ?Sized>(d: usize, rng: &mut R) -> DMatrix<f64> {
    assert!(d > 0, "haar_rotation: dimension must be positive");
    // `linalg::qr` returns diag R ≥ 0: exactly the sign correction.
    let (q, _) = linalg::qr(to_nd(&gaussian_matrix(d, d, rng)).view());
    from_nd(&q)
}

fn to_nd(m: &DMatrix<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

fn from_nd(a: &Array2<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// `N(C) = diag(C)^{−1/2} C diag(C)^{−1/2}`: the unit-diagonal normalisation (what an ActNorm
/// or a marginal standardisation does to a covariance).
///
/// # Panics
/// If a diagonal entry is not positive.
pub fn normalize_unit_diagonal(c: &DMatrix<f64>) -> DMatrix<f64> {
    let d = c.nrows();
    let inv_sd: Vec<f64> = (0..d)
        .map(|i| {
            let v = c[(i, i)];
            assert!(
                v > 0.0,
                "normalize_unit_diagonal: diagonal entry {i} is {v}"
            );
            1.0 / v.sqrt()
        })
        .collect();
    DMatrix::from_fn(d, d, |i, j| {
        if i == j {
            1.0
        } else {
            c[(i, j)] * inv_sd[i] * inv_sd[j]
        }
    })
}

/// `log det C` of a symmetric positive-definite matrix, by Cholesky.
///
/// # Panics
/// If `c` is not positive definite.
pub fn log_det_spd(c: &DMatrix<f64>) -> f64 {
    let l = linalg::cholesky(to_nd(c).view()).unwrap_or_else(|e| panic!("log_det_spd: {e}"));
    2.0 * l.diag().iter().map(|v| v.ln()).sum::<f64>()
}

/// Eigenvalues of a symmetric matrix, ascending.
pub fn sym_eigenvalues(c: &DMatrix<f64>) -> Vec<f64> {
    linalg::eigh(to_nd(c).view()).0.to_vec()
}

/// Eigen-decomposition `C = V diag(λ) Vᵀ` of a symmetric matrix, eigenvalues descending
/// (columns of `V` in the same order).
pub fn sym_eigen_descending(c: &DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let (w, v) = linalg::eigh(to_nd(c).view());
    let n = w.len();
    let values = w.iter().rev().copied().collect();
    let vectors = DMatrix::from_fn(c.nrows(), n, |r, k| v[[r, n - 1 - k]]);
    (values, vectors)
}

/// `Q Σ Qᵀ`.
pub fn rotate_covariance(c: &DMatrix<f64>, q: &DMatrix<f64>) -> DMatrix<f64> {
    symmetrize(&(q * c * q.transpose()))
}

/// `(C + Cᵀ)/2`, to remove round-off asymmetry.
pub fn symmetrize(c: &DMatrix<f64>) -> DMatrix<f64> {
    (c + c.transpose()) * 0.5
}

/// A covariance with the given eigenvalues in a Haar-random basis: `Q diag(λ) Qᵀ`.
pub fn covariance_with_spectrum<R: Rng + ?Sized>(eigenvalues: &[f64], rng: &mut R) -> DMatrix<f64> {
    let q = haar_rotation(eigenvalues.len(), rng);
    rotate_covariance(
        &DMatrix::from_diagonal(&DVector::from_column_slice(eigenvalues)),
        &q,
    )
}

/// The unit-diagonal Wishart covariance of theory.md QB-A4: `N(X Xᵀ / (2D))` with
/// `X ∈ R^{D×2D}` standard normal.
pub fn wishart_unit_diagonal<R: Rng + ?Sized>(d: usize, rng: &mut R) -> DMatrix<f64> {
    let x = gaussian_matrix(d, 2 * d, rng);
    normalize_unit_diagonal(&symmetrize(&(&x * x.transpose() / (2.0 * d as f64))))
}

/// `A Aᵀ / D + ridge · I` with `A` standard normal `D × D` (theory.md PT-A1).
pub fn random_spd<R: Rng + ?Sized>(d: usize, ridge: f64, rng: &mut R) -> DMatrix<f64> {
    let a = gaussian_matrix(d, d, rng);
    symmetrize(&(&a * a.transpose() / d as f64)) + DMatrix::identity(d, d) * ridge
}

/// Empirical mean and (population, divide-by-n) covariance of the rows of `x`.
///
/// # Panics
/// If `x` has no rows.
pub fn empirical_moments(x: &DMatrix<f64>) -> (DVector<f64>, DMatrix<f64>) {
    let n = x.nrows();
    assert!(n > 0, "empirical_moments: no rows");
    let mean = x.row_mean().transpose();
    let mut centered = x.clone();
    for mut row in centered.row_iter_mut() {
        row -= mean.transpose();
    }
    let cov = centered.transpose() * &centered / n as f64;
    (mean, symmetrize(&cov))
}
