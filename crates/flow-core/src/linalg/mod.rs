//! Dense f64 decompositions behind one interface: [`slogdet`], [`cholesky`], [`eigh`],
//! [`qr`] on `ndarray` matrices. Callers never see which backend runs:
//!
//! - [`Backend::Faer`] (the default build): faer, pure Rust, nothing to install. Chosen over
//!   nalgebra by measurement: 1.2–6× faster on every decomposition at 64×64 and 256×256
//!   (`BENCHMARKS.md`, "Dense decompositions"; `examples/linalg_backends.rs`).
//! - [`Backend::Nalgebra`]: nalgebra, pure Rust; kept as the independent second
//!   implementation the tests check faer against.
//! - [`Backend::Lapack`] (feature `lapack`): ndarray-linalg on the system OpenBLAS/LAPACK
//!   (`apt-get install libopenblas-dev`); the default when the feature is on.
//!
//! These are plain (untracked) decompositions for initialisation, analysis and evaluation;
//! the differentiable `Tensor::slogdet`/`inverse` live in `ops::linalg`.
//!
//! Conventions: `slogdet` returns `(sign, log|det A|)` with `(0, −∞)` for a singular matrix
//! (LU with partial pivoting: `det A = ±∏ U_ii`); `cholesky` returns the lower factor
//! `A = L Lᵀ`; `eigh` returns ascending eigenvalues and orthonormal eigenvectors in columns
//! (`A = V diag(λ) Vᵀ`, sign of each column unspecified); `qr` returns the thin `Q` (`m×k`,
//! orthonormal columns) and upper-triangular `R` (`k×n`), `k = min(m, n)`, with `R_ii ≥ 0`
//! (so the factorisation is unique for full-rank `A`).
//!
//! ```
//! use flow_core::linalg::{cholesky, slogdet};
//! use ndarray::array;
//! let a = array![[4.0, 2.0], [2.0, 3.0]];
//! let (sign, logdet) = slogdet(a.view());
//! assert_eq!(sign, 1.0);
//! assert!((logdet - 8f64.ln()).abs() < 1e-12);
//! let l = cholesky(a.view()).unwrap();
//! assert!((l[[1, 1]] - 2f64.sqrt()).abs() < 1e-12);
//! ```

mod faer_backend;
#[cfg(feature = "lapack")]
mod lapack;
mod nalgebra_backend;
#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView2};

/// Which implementation runs the decompositions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// nalgebra (pure Rust).
    Nalgebra,
    /// faer (pure Rust; the default without the `lapack` feature).
    Faer,
    /// ndarray-linalg on LAPACK (feature `lapack`).
    #[cfg(feature = "lapack")]
    Lapack,
}

/// A decomposition that does not exist for the input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LinalgError {
    /// Cholesky of a matrix that is not (numerically) positive definite.
    #[error("cholesky: the {n}×{n} matrix is not positive definite")]
    NotPositiveDefinite {
        /// The size.
        n: usize,
    },
    /// A failure reported by LAPACK.
    #[error("{op}: LAPACK failed: {message}")]
    Lapack {
        /// The decomposition.
        op: &'static str,
        /// LAPACK's message.
        message: String,
    },
}

/// The backend the free functions use: LAPACK when the `lapack` feature is on, else faer.
pub fn backend() -> Backend {
    #[cfg(feature = "lapack")]
    return Backend::Lapack;
    #[cfg(not(feature = "lapack"))]
    Backend::Faer
}

fn square(op: &str, a: &ArrayView2<f64>) -> usize {
    assert!(
        a.is_square(),
        "{op}: matrix of shape {:?} is not square",
        a.shape()
    );
    a.nrows()
}

impl Backend {
    /// `(sign, log|det A|)`; `(0, −∞)` when `A` is singular.
    ///
    /// # Panics
    /// If `A` is not square.
    pub fn slogdet(self, a: ArrayView2<f64>) -> (f64, f64) {
        square("slogdet", &a);
        match self {
            Backend::Nalgebra => nalgebra_backend::slogdet(a),
            Backend::Faer => faer_backend::slogdet(a),
            #[cfg(feature = "lapack")]
            Backend::Lapack => lapack::slogdet(a),
        }
    }

    /// Lower `L` with `A = L Lᵀ` (only the lower triangle of `A` is read).
    ///
    /// # Errors
    /// [`LinalgError::NotPositiveDefinite`] (or a LAPACK error) when `A` is not SPD.
    ///
    /// # Panics
    /// If `A` is not square.
    pub fn cholesky(self, a: ArrayView2<f64>) -> Result<Array2<f64>, LinalgError> {
        square("cholesky", &a);
        match self {
            Backend::Nalgebra => nalgebra_backend::cholesky(a),
            Backend::Faer => faer_backend::cholesky(a),
            #[cfg(feature = "lapack")]
            Backend::Lapack => lapack::cholesky(a),
        }
    }

    /// Ascending eigenvalues and eigenvectors (columns) of the symmetric `A` (the lower
    /// triangle is read).
    ///
    /// # Panics
    /// If `A` is not square.
    pub fn eigh(self, a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
        square("eigh", &a);
        let (values, vectors) = match self {
            Backend::Nalgebra => nalgebra_backend::eigh(a),
            Backend::Faer => faer_backend::eigh(a),
            #[cfg(feature = "lapack")]
            Backend::Lapack => lapack::eigh(a),
        };
        sort_ascending(values, vectors)
    }

    /// Thin QR with `R_ii ≥ 0`.
    pub fn qr(self, a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
        let (q, r) = match self {
            Backend::Nalgebra => nalgebra_backend::qr(a),
            Backend::Faer => faer_backend::qr(a),
            #[cfg(feature = "lapack")]
            Backend::Lapack => lapack::qr(a),
        };
        positive_diagonal(q, r)
    }
}

/// `(sign, log|det|)` of `P L U` from the permutation's sign and `U`'s diagonal (summing logs
/// instead of multiplying, so large matrices do not overflow); `(0, −∞)` on a zero pivot.
fn slogdet_from_lu(permutation_sign: f64, diagonal: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut sign, mut log) = (permutation_sign, 0.0);
    for d in diagonal {
        if d == 0.0 {
            return (0.0, f64::NEG_INFINITY);
        }
        sign *= d.signum();
        log += d.abs().ln();
    }
    (sign, log)
}

/// Orders eigenpairs by ascending eigenvalue.
fn sort_ascending(values: Array1<f64>, vectors: Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let sorted = order.iter().map(|&i| values[i]).collect();
    let v = Array2::from_shape_fn(vectors.dim(), |(r, k)| vectors[[r, order[k]]]);
    (sorted, v)
}

/// Flips the signs of `Q`'s columns and `R`'s rows so `diag R ≥ 0`.
fn positive_diagonal(mut q: Array2<f64>, mut r: Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    for i in 0..r.nrows().min(r.ncols()) {
        if r[[i, i]] < 0.0 {
            q.column_mut(i).mapv_inplace(|v| -v);
            r.row_mut(i).mapv_inplace(|v| -v);
        }
    }
    (q, r)
}

/// [`Backend::slogdet`] on the default [`backend`].
pub fn slogdet(a: ArrayView2<f64>) -> (f64, f64) {
    backend().slogdet(a)
}

/// [`Backend::cholesky`] on the default [`backend`].
///
/// # Errors
/// As [`Backend::cholesky`].
pub fn cholesky(a: ArrayView2<f64>) -> Result<Array2<f64>, LinalgError> {
    backend().cholesky(a)
}

/// [`Backend::eigh`] on the default [`backend`].
pub fn eigh(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    backend().eigh(a)
}

/// [`Backend::qr`] on the default [`backend`].
pub fn qr(a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
    backend().qr(a)
}
