//! The nalgebra backend: LU, Cholesky, symmetric eigen and Householder QR (pure Rust).

use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView2};

use super::LinalgError;

fn to_na(a: ArrayView2<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

fn from_na(m: &DMatrix<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

pub(super) fn slogdet(a: ArrayView2<f64>) -> (f64, f64) {
    let n = a.nrows();
    if n == 0 {
        return (1.0, 0.0);
    }
    let lu = to_na(a).lu();
    // det(P) · ∏ U_ii; nalgebra's determinant multiplies these, we sum logs instead.
    let u = lu.u();
    super::slogdet_from_lu(lu.p().determinant::<f64>(), (0..n).map(|i| u[(i, i)]))
}

pub(super) fn cholesky(a: ArrayView2<f64>) -> Result<Array2<f64>, LinalgError> {
    let n = a.nrows();
    // nalgebra reads the lower triangle only.
    to_na(a)
        .cholesky()
        .map(|c| from_na(&c.l()))
        .ok_or(LinalgError::NotPositiveDefinite { n })
}

pub(super) fn eigh(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    // Symmetrise from the lower triangle, the documented input.
    let n = a.nrows();
    let m = DMatrix::from_fn(n, n, |i, j| if i >= j { a[[i, j]] } else { a[[j, i]] });
    let e = m.symmetric_eigen();
    (
        e.eigenvalues.iter().copied().collect(),
        from_na(&e.eigenvectors),
    )
}

pub(super) fn qr(a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
    let qr = to_na(a).qr();
    (from_na(&qr.q()), from_na(&qr.r()))
}
