//! The LAPACK backend (feature `lapack`): ndarray-linalg on the system OpenBLAS.

use ndarray::{Array1, Array2, ArrayView2};
use ndarray_linalg::{Cholesky, Determinant, Eigh, QR, UPLO};

use super::LinalgError;

fn err(op: &'static str) -> impl Fn(ndarray_linalg::error::LinalgError) -> LinalgError {
    move |e| LinalgError::Lapack {
        op,
        message: e.to_string(),
    }
}

pub(super) fn slogdet(a: ArrayView2<f64>) -> (f64, f64) {
    if a.nrows() == 0 {
        return (1.0, 0.0);
    }
    match a.to_owned().sln_det() {
        Ok((sign, log)) if sign != 0.0 && log.is_finite() => (sign, log),
        _ => (0.0, f64::NEG_INFINITY),
    }
}

pub(super) fn cholesky(a: ArrayView2<f64>) -> Result<Array2<f64>, LinalgError> {
    let n = a.nrows();
    a.to_owned()
        .cholesky(UPLO::Lower)
        .map_err(|_| LinalgError::NotPositiveDefinite { n })
}

pub(super) fn eigh(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    a.to_owned()
        .eigh(UPLO::Lower)
        .map_err(err("eigh"))
        .expect("eigh: LAPACK dsyev failed on a finite symmetric matrix")
}

pub(super) fn qr(a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
    a.to_owned()
        .qr()
        .map_err(err("qr"))
        .expect("qr: LAPACK dgeqrf failed on a finite matrix")
}
