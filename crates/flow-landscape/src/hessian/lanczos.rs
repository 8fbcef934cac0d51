//! Lanczos with full re-orthogonalisation for extreme eigenvalues of a symmetric operator
//! given only by matrix-vector products, and the `λ̂_max·I − H` trick that turns the small
//! end of the spectrum into the large end (paper note §3).

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::dense::symmetric_eigen;
use crate::objective::{dot, norm};

/// Ritz values of the Krylov space, ascending, with their residual norms
/// `‖A y − θ y‖ = |β_m s_{m,k}|` (exact in exact arithmetic; full re-orthogonalisation keeps
/// it honest in floating point).
#[derive(Clone, Debug, PartialEq)]
pub struct Ritz {
    /// Ritz values, ascending.
    pub values: Vec<f64>,
    /// Residual norm of each Ritz pair.
    pub residuals: Vec<f64>,
    /// Ritz vectors (unit, in the operator's coordinates), matching `values`.
    pub vectors: Vec<Vec<f64>>,
}

/// Runs `m` Lanczos steps of the symmetric operator `op` on `ℝⁿ` from a random start,
/// re-orthogonalising every new vector against all previous ones (twice, classical
/// Gram–Schmidt), and stops early on an invariant subspace.
///
/// ```
/// use flow_landscape::lanczos;
/// let diag = [1.0, 2.0, 3.0, 10.0];
/// let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
/// let r = lanczos(|v: &[f64]| v.iter().zip(&diag).map(|(x, d)| x * d).collect(), 4, 4, &mut rng);
/// assert!((r.values[3] - 10.0).abs() < 1e-10 && (r.values[0] - 1.0).abs() < 1e-10);
/// ```
pub fn lanczos<R: Rng + ?Sized>(
    mut op: impl FnMut(&[f64]) -> Vec<f64>,
    n: usize,
    m: usize,
    rng: &mut R,
) -> Ritz {
    let m = m.min(n).max(1);
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut alpha = Vec::with_capacity(m);
    let mut beta: Vec<f64> = Vec::with_capacity(m);
    let mut v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    let v0 = norm(&v);
    scale(&mut v, 1.0 / v0);
    let mut last_beta = 0.0;
    for j in 0..m {
        q.push(v.clone());
        let mut w = op(&q[j]);
        let a = dot(&w, &q[j]);
        alpha.push(a);
        for _ in 0..2 {
            for qi in &q {
                let c = dot(&w, qi);
                axpy(&mut w, -c, qi);
            }
        }
        let b = norm(&w);
        last_beta = b;
        let scale_ref = a
            .abs()
            .max(alpha.iter().fold(0.0f64, |s, x| s.max(x.abs())));
        if j + 1 == m || b <= 1e-12 * scale_ref.max(1e-300) {
            break;
        }
        beta.push(b);
        v = w;
        scale(&mut v, 1.0 / b);
    }
    let k = alpha.len();
    let t = DMatrix::from_fn(k, k, |r, c| {
        if r == c {
            alpha[r]
        } else if r + 1 == c {
            beta[r]
        } else if c + 1 == r {
            beta[c]
        } else {
            0.0
        }
    });
    let (values, s) = symmetric_eigen(&t);
    let residuals = (0..k).map(|i| (last_beta * s[(k - 1, i)]).abs()).collect();
    let vectors = (0..k)
        .map(|i| {
            let mut y = vec![0.0; n];
            for (r, qr) in q.iter().enumerate() {
                axpy(&mut y, s[(r, i)], qr);
            }
            y
        })
        .collect();
    Ritz {
        values,
        residuals,
        vectors,
    }
}

/// The smallest eigenvalues of `H` through Lanczos on `B = λ̂_max·I − H`: returns the Ritz
/// values mapped back (`λ = λ̂_max − μ`), ascending, with residuals.
pub fn lanczos_smallest<R: Rng + ?Sized>(
    mut hvp: impl FnMut(&[f64]) -> Vec<f64>,
    n: usize,
    m: usize,
    lambda_max: f64,
    rng: &mut R,
) -> Ritz {
    let r = lanczos(
        |v| {
            let hv = hvp(v);
            v.iter().zip(hv).map(|(x, h)| lambda_max * x - h).collect()
        },
        n,
        m,
        rng,
    );
    let k = r.values.len();
    let order: Vec<usize> = (0..k).rev().collect();
    Ritz {
        values: order.iter().map(|&i| lambda_max - r.values[i]).collect(),
        residuals: order.iter().map(|&i| r.residuals[i]).collect(),
        vectors: order.iter().map(|&i| r.vectors[i].clone()).collect(),
    }
}

fn scale(v: &mut [f64], c: f64) {
    v.iter_mut().for_each(|x| *x *= c);
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}
