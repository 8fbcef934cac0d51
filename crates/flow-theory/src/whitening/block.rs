//! The optimal linear affine coupling block acting on a covariance (arXiv 2210.14032,
//! Sec. 4; code `empiric.py::apply_layer(s=True, t=True, sp=True)`).
//!
//! Convention: after the rotation `Q`, the first `d_p = D − d_a` coordinates are passive and
//! the last `d_a` active. The block removes the mean (the offset of `t`), so outputs are
//! centred covariances.

use nalgebra::DMatrix;

use crate::linalg::{normalize_unit_diagonal, rotate_covariance, symmetrize};

fn schur_parts(cov_q: &DMatrix<f64>, d_active: usize) -> (DMatrix<f64>, DMatrix<f64>) {
    let d = cov_q.nrows();
    let dp = d - d_active;
    let spp = cov_q.view((0, 0), (dp, dp)).into_owned();
    let sap = cov_q.view((dp, 0), (d_active, dp)).into_owned();
    let saa = cov_q.view((dp, dp), (d_active, d_active)).into_owned();
    // Σ_{a|p} = Σ_aa − Σ_ap Σ_pp⁻¹ Σ_pa, via a Cholesky solve.
    let chol = spp
        .clone()
        .cholesky()
        .expect("optimal_linear_block: Σ_pp not positive definite");
    let x = chol.solve(&sap.transpose());
    let cond = symmetrize(&(saa - &sap * x));
    (spp, cond)
}

fn check_split(d: usize, d_active: usize) {
    assert!(
        d_active >= 1 && d_active < d,
        "optimal_linear_block: need 1 ≤ d_a < D, got d_a = {d_active}, D = {d}"
    );
}

/// The output covariance of the optimal linear coupling block:
/// `Σ_Q = QΣQᵀ`, `Σ' = N(blockdiag(Σ_pp, Σ_{a|p}))` with `Σ_{a|p} = Σ_aa − Σ_ap Σ_pp⁻¹ Σ_pa`
/// (arXiv 2210.14032, Sec. 4, Eq. for the optimal `t = −diag(s) Σ_ap Σ_pp⁻¹`,
/// `s = diag(Σ_{a|p})^{−1/2}`, passive ActNorm `r = diag(Σ_pp)^{−1/2}`).
///
/// # Panics
/// If `1 ≤ d_active < D` fails, shapes disagree, or `Σ` is not positive definite.
pub fn optimal_linear_block(cov: &DMatrix<f64>, q: &DMatrix<f64>, d_active: usize) -> DMatrix<f64> {
    let d = cov.nrows();
    check_split(d, d_active);
    assert_eq!(
        q.nrows(),
        d,
        "optimal_linear_block: Q is {}×{}, Σ is {d}×{d}",
        q.nrows(),
        q.ncols()
    );
    let (spp, cond) = schur_parts(&rotate_covariance(cov, q), d_active);
    let dp = d - d_active;
    let mut out = DMatrix::zeros(d, d);
    out.view_mut((0, 0), (dp, dp)).copy_from(&spp);
    out.view_mut((dp, dp), (d_active, d_active))
        .copy_from(&cond);
    normalize_unit_diagonal(&out)
}

/// The closed form of `S'` after one optimal linear block on a **unit-diagonal** `Σ`:
/// `S' = S + ½ Σ_{i∈p} log (Σ_Q)_ii + ½ Σ_{j∈a} log (Σ_{a|p})_jj` with `S = −½ log det Σ`
/// (arXiv 2210.14032, Sec. 4; theory.md A.1). Returns `(S, S')`.
///
/// # Panics
/// As [`optimal_linear_block`].
pub fn block_closed_form(
    cov_unit_diag: &DMatrix<f64>,
    q: &DMatrix<f64>,
    d_active: usize,
) -> (f64, f64) {
    let d = cov_unit_diag.nrows();
    check_split(d, d_active);
    let s = -0.5 * crate::linalg::log_det_spd(cov_unit_diag);
    let cov_q = rotate_covariance(cov_unit_diag, q);
    let (_, cond) = schur_parts(&cov_q, d_active);
    let dp = d - d_active;
    let passive: f64 = (0..dp).map(|i| cov_q[(i, i)].ln()).sum();
    let active: f64 = (0..d_active).map(|j| cond[(j, j)].ln()).sum();
    (s, s + 0.5 * passive + 0.5 * active)
}
