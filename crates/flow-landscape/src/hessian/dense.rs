//! Dense Hessians of small models from `n` Hessian-vector products on basis vectors, and
//! their spectra (recipe of the paper note §3: exact counts for `n ≲ 5000`).

use nalgebra::{DMatrix, SymmetricEigen};

use crate::objective::Landscape;

/// `H(θ)` assembled column by column from `H e_k`, then symmetrised `(H + Hᵀ)/2`; also returns
/// the largest asymmetry `max |H_ij − H_ji|` before symmetrisation (round-off for an exact HVP).
pub fn dense_hessian<L: Landscape + ?Sized>(landscape: &L, theta: &[f64]) -> (DMatrix<f64>, f64) {
    let n = theta.len();
    let mut h = DMatrix::zeros(n, n);
    let mut e = vec![0.0; n];
    for k in 0..n {
        e[k] = 1.0;
        let col = landscape.hvp(theta, &e);
        e[k] = 0.0;
        for (i, v) in col.into_iter().enumerate() {
            h[(i, k)] = v;
        }
    }
    let asym = (0..n)
        .flat_map(|i| (0..i).map(move |j| (i, j)))
        .map(|(i, j)| (h[(i, j)] - h[(j, i)]).abs())
        .fold(0.0, f64::max);
    let sym = (&h + h.transpose()) * 0.5;
    (sym, asym)
}

/// Eigenvalues of a symmetric matrix, ascending.
pub fn symmetric_eigenvalues(h: &DMatrix<f64>) -> Vec<f64> {
    let mut ev: Vec<f64> = h.clone().symmetric_eigenvalues().iter().copied().collect();
    ev.sort_by(f64::total_cmp);
    ev
}

/// Eigenvalues (ascending) and matching unit eigenvectors (columns) of a symmetric matrix.
pub fn symmetric_eigen(h: &DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let eig = SymmetricEigen::new(h.clone());
    let mut order: Vec<usize> = (0..h.nrows()).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let vals = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let vecs = DMatrix::from_fn(h.nrows(), h.nrows(), |r, c| eig.eigenvectors[(r, order[c])]);
    (vals, vecs)
}
