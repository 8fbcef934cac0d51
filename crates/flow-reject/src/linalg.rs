//! Dense linear algebra the feature scores share (nalgebra, f64): means, covariances,
//! symmetric eigendecompositions sorted descending, pseudo-inverse whitening.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Column means of a `[n, D]` matrix.
///
/// # Panics
/// If `m` has no rows.
pub fn column_mean(m: &DMatrix<f64>) -> DVector<f64> {
    assert!(m.nrows() > 0, "column_mean: no rows");
    m.row_mean().transpose()
}

/// `m − 1 vᵀ`: subtracts `v` from every row.
pub fn sub_row(m: &DMatrix<f64>, v: &DVector<f64>) -> DMatrix<f64> {
    let mut out = m.clone();
    for mut row in out.row_iter_mut() {
        row -= v.transpose();
    }
    out
}

/// Second-moment matrix `XᵀX / n` (the covariance when `X` is centred; MLE normalisation).
pub fn second_moment(x: &DMatrix<f64>) -> DMatrix<f64> {
    (x.transpose() * x) / x.nrows() as f64
}

/// Eigenvalues (descending) and matching eigenvectors (columns) of a symmetric matrix.
pub fn eigh_descending(s: &DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let sym = (s + s.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let mut order: Vec<usize> = (0..eig.eigenvalues.len()).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let vals = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let vecs = DMatrix::from_columns(
        &order
            .iter()
            .map(|&i| eig.eigenvectors.column(i).into_owned())
            .collect::<Vec<_>>(),
    );
    (vals, vecs)
}

/// A whitening map `A` (`[D, r]`) with `A Aᵀ = Σ⁺`, the pseudo-inverse of a symmetric PSD `Σ`:
/// eigenvalues `λ ≤ rcond · λ_max` count as zero (the regularisation of numpy/sklearn `pinvh`,
/// which the official code's `EmpiricalCovariance.precision_` uses), so a singular covariance
/// (e.g. dead ReLU units) is handled by ignoring its null space instead of dividing by zero.
/// Then `(x − y)ᵀ Σ⁺ (x − y) = ‖(x − y) A‖²`. Returns `None` when `Σ` is zero.
pub fn pinv_whitener(s: &DMatrix<f64>, rcond: f64) -> Option<DMatrix<f64>> {
    let (vals, vecs) = eigh_descending(s);
    let top = vals.first().copied().unwrap_or(0.0);
    if top <= 0.0 {
        return None;
    }
    let kept: Vec<DVector<f64>> = vals
        .iter()
        .enumerate()
        .take_while(|(_, v)| **v > rcond * top)
        .map(|(i, v)| vecs.column(i) / v.sqrt())
        .collect();
    Some(DMatrix::from_columns(&kept))
}
