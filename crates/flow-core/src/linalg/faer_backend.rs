//! The faer backend: partial-pivoting LU, Cholesky (LLᵀ), self-adjoint eigendecomposition and
//! Householder QR of faer 0.23 (pure Rust, already the workspace's GEMM). faer's decompositions
//! run on its global parallelism, which flow-core sets to sequential (the one thread setting
//! is `flow_core::parallel`; these matrices are small).

use faer::{Mat, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView2};

use super::LinalgError;

fn to_faer(a: ArrayView2<f64>) -> Mat<f64> {
    faer::set_global_parallelism(Par::Seq);
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

fn from_faer(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// The sign of a permutation given as the image of each index: (−1)^(n − cycles).
fn permutation_sign(forward: &[usize]) -> f64 {
    let mut seen = vec![false; forward.len()];
    let mut transpositions = 0;
    for start in 0..forward.len() {
        let mut i = start;
        let mut len = 0;
        while !seen[i] {
            seen[i] = true;
            i = forward[i];
            len += 1;
        }
        transpositions += len.max(1) - 1;
    }
    if transpositions % 2 == 0 { 1.0 } else { -1.0 }
}

pub(super) fn slogdet(a: ArrayView2<f64>) -> (f64, f64) {
    let n = a.nrows();
    if n == 0 {
        return (1.0, 0.0);
    }
    let lu = to_faer(a).partial_piv_lu();
    let u = lu.U();
    let (forward, _) = lu.P().arrays();
    super::slogdet_from_lu(permutation_sign(forward), (0..n).map(|i| u[(i, i)]))
}

pub(super) fn cholesky(a: ArrayView2<f64>) -> Result<Array2<f64>, LinalgError> {
    let n = a.nrows();
    to_faer(a)
        .llt(Side::Lower)
        .map(|c| from_faer(c.L()))
        .map_err(|_| LinalgError::NotPositiveDefinite { n })
}

pub(super) fn eigh(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = a.nrows();
    let e = to_faer(a)
        .self_adjoint_eigen(Side::Lower)
        .unwrap_or_else(|err| panic!("eigh: faer did not converge on the {n}×{n} matrix: {err:?}"));
    let values = e.S().column_vector().iter().copied().collect();
    (values, from_faer(e.U()))
}

pub(super) fn qr(a: ArrayView2<f64>) -> (Array2<f64>, Array2<f64>) {
    let qr = to_faer(a).qr();
    (
        from_faer(qr.compute_thin_Q().as_ref()),
        from_faer(qr.thin_R()),
    )
}

#[cfg(test)]
mod tests {
    use super::permutation_sign;

    #[test]
    fn permutation_signs() {
        assert_eq!(permutation_sign(&[0, 1, 2]), 1.0);
        assert_eq!(permutation_sign(&[1, 0, 2]), -1.0);
        assert_eq!(permutation_sign(&[1, 2, 0]), 1.0);
        assert_eq!(permutation_sign(&[3, 2, 1, 0]), 1.0);
    }
}
