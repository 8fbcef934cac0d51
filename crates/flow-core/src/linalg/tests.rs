//! Each decomposition against its defining identity and an independent oracle; with the
//! `lapack` feature, the two backends against each other.

use ndarray::{Array2, array};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

use super::*;

fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| StandardNormal.sample(&mut rng))
}

/// `A Aᵀ / n + I`: symmetric positive definite.
fn spd(n: usize, seed: u64) -> Array2<f64> {
    let a = gaussian(n, n, seed);
    a.dot(&a.t()) / n as f64 + Array2::<f64>::eye(n)
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn backends() -> Vec<Backend> {
    #[cfg(feature = "lapack")]
    return vec![Backend::Nalgebra, Backend::Faer, Backend::Lapack];
    #[cfg(not(feature = "lapack"))]
    vec![Backend::Nalgebra, Backend::Faer]
}

#[test]
fn cholesky_reconstructs_and_rejects_indefinite() {
    for b in backends() {
        for n in [1, 5, 33] {
            let a = spd(n, n as u64);
            let l = b.cholesky(a.view()).expect("SPD");
            assert!(max_abs(&(l.dot(&l.t()) - &a)) < 1e-12, "{b:?} n={n}");
            for i in 0..n {
                assert!(l[[i, i]] > 0.0);
                for j in i + 1..n {
                    assert_eq!(l[[i, j]], 0.0, "{b:?}: L is not lower triangular");
                }
            }
        }
        let bad = array![[1.0, 2.0], [2.0, 1.0]];
        assert!(b.cholesky(bad.view()).is_err(), "{b:?}");
    }
}

#[test]
fn eigh_diagonalises_with_orthonormal_vectors_in_ascending_order() {
    for b in backends() {
        let n = 24;
        let a = spd(n, 3);
        let (w, v) = b.eigh(a.view());
        assert!(
            w.windows(2).into_iter().all(|p| p[0] <= p[1]),
            "{b:?}: not ascending"
        );
        assert!(
            max_abs(&(v.t().dot(&v) - Array2::<f64>::eye(n))) < 1e-12,
            "{b:?}"
        );
        let av = a.dot(&v);
        let vw = &v * &w.view().insert_axis(ndarray::Axis(0));
        assert!(max_abs(&(av - vw)) < 1e-11, "{b:?}");
        // Oracle: the trace and the log-determinant are the sum and log-sum of eigenvalues.
        let trace: f64 = (0..n).map(|i| a[[i, i]]).sum();
        assert!((w.sum() - trace).abs() < 1e-10);
        let (sign, logdet) = b.slogdet(a.view());
        assert_eq!(sign, 1.0);
        assert!((w.mapv(f64::ln).sum() - logdet).abs() < 1e-10, "{b:?}");
    }
}

#[test]
fn qr_is_thin_orthonormal_upper_with_positive_diagonal() {
    for b in backends() {
        for (m, n) in [(7, 7), (9, 4), (4, 9)] {
            let a = gaussian(m, n, (m * 10 + n) as u64);
            let (q, r) = b.qr(a.view());
            let k = m.min(n);
            assert_eq!((q.dim(), r.dim()), ((m, k), (k, n)), "{b:?}");
            assert!(max_abs(&(q.dot(&r) - &a)) < 1e-12, "{b:?} {m}×{n}");
            assert!(max_abs(&(q.t().dot(&q) - Array2::<f64>::eye(k))) < 1e-12);
            for i in 0..k {
                assert!(r[[i, i]] >= 0.0, "{b:?}: R_ii < 0");
                for j in 0..i.min(n) {
                    assert!(r[[i, j]].abs() < 1e-14, "{b:?}: R is not upper triangular");
                }
            }
        }
    }
}

/// The sign and log|det| agree with flow-core's own LU (`Tensor::slogdet`, an independent
/// implementation), including negative determinants; a singular matrix gives (0, −∞).
#[test]
fn slogdet_matches_the_tensor_lu_and_handles_sign_and_singularity() {
    for b in backends() {
        for seed in 0..4 {
            let a = gaussian(12, 12, 40 + seed);
            let (sign, log) = b.slogdet(a.view());
            let t = crate::Tensor::from_vec(a.iter().copied().collect(), &[12, 12]);
            let (ts, tl) = t.slogdet();
            assert_eq!(sign, ts.item(), "{b:?} seed {seed}");
            assert!((log - tl.item()).abs() < 1e-10, "{b:?} seed {seed}");
        }
        let swap = array![[0.0, 2.0], [3.0, 0.0]];
        let (sign, log) = b.slogdet(swap.view());
        assert_eq!(sign, -1.0);
        assert!((log - 6f64.ln()).abs() < 1e-14);
        let singular = array![[1.0, 2.0], [2.0, 4.0]];
        assert_eq!(
            b.slogdet(singular.view()),
            (0.0, f64::NEG_INFINITY),
            "{b:?}"
        );
    }
}

/// Every backend gives the same decompositions as nalgebra, the independent oracle (up to the
/// eigenvector signs, which the interface leaves unspecified): faer always, LAPACK with the
/// `lapack` feature.
#[test]
fn backends_agree_with_nalgebra() {
    let a = spd(40, 9);
    let g = gaussian(30, 12, 5);
    let p = Backend::Nalgebra;
    for l in backends().into_iter().filter(|&b| b != p) {
        let (sp, lp) = p.slogdet(a.view());
        let (sl, ll) = l.slogdet(a.view());
        assert_eq!(sp, sl, "{l:?}");
        assert!((lp - ll).abs() < 1e-10, "{l:?}");
        let cp = p.cholesky(a.view()).unwrap();
        let cl = l.cholesky(a.view()).unwrap();
        assert!(max_abs(&(cp - cl)) < 1e-12, "{l:?}");
        let (wp, vp) = p.eigh(a.view());
        let (wl, vl) = l.eigh(a.view());
        assert!((&wp - &wl).iter().all(|d| d.abs() < 1e-10), "{l:?}");
        for k in 0..40 {
            let dot = vp.column(k).dot(&vl.column(k)).abs();
            assert!((dot - 1.0).abs() < 1e-8, "{l:?} eigenvector {k}");
        }
        let (qp, rp) = p.qr(g.view());
        let (ql, rl) = l.qr(g.view());
        assert!(
            max_abs(&(qp - ql)) < 1e-10 && max_abs(&(rp - rl)) < 1e-10,
            "{l:?}"
        );
    }
}

/// A non-symmetric matrix with a negative determinant: the sign comes from the pivoting.
#[test]
fn slogdet_sign_with_pivoting() {
    let a = ndarray::array![[0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]];
    for b in backends() {
        let (sign, log) = b.slogdet(a.view());
        assert_eq!(sign, -1.0, "{b:?}");
        assert!((log - 6f64.ln()).abs() < 1e-12, "{b:?}");
    }
}
