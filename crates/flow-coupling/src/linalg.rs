//! Small dense factorisations in plain f64 used to *initialise* blocks (Haar rotations, the
//! PLU split of the LU-linear layer); they never sit on a gradient path. The QR is
//! flow-core's ([`flow_core::linalg`]); the LU with exposed factors stays here (flow-core's
//! interface returns no LU factors).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A Haar-distributed orthogonal `n × n` matrix (row-major): the `Q` of a Gaussian matrix's QR
/// with `diag R > 0` (Mezzadri, arXiv math-ph/0609050), by [`flow_core::linalg::qr`].
pub fn haar_orthogonal<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    let a: Vec<f64> = (0..n * n).map(|_| StandardNormal.sample(rng)).collect();
    let a = ndarray::Array2::from_shape_vec((n, n), a).expect("n × n");
    let (q, _) = flow_core::linalg::qr(a.view());
    q.iter().copied().collect()
}

/// `P A = L U` with partial pivoting for a row-major `n × n` matrix: returns the row order
/// `perm` (row `i` of `PA` is row `perm[i]` of `A`), the unit-lower `L` and upper `U`.
///
/// # Panics
/// If `A` is singular.
pub fn plu(a: &[f64], n: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let mut u = a.to_vec();
    let mut l = vec![0.0; n * n];
    let mut perm: Vec<usize> = (0..n).collect();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| u[i * n + k].abs().total_cmp(&u[j * n + k].abs()))
            .unwrap_or(k);
        assert!(u[p * n + k].abs() > 1e-300, "plu: singular matrix");
        if p != k {
            for j in 0..n {
                u.swap(k * n + j, p * n + j);
                l.swap(k * n + j, p * n + j);
            }
            perm.swap(k, p);
        }
        for i in k + 1..n {
            let f = u[i * n + k] / u[k * n + k];
            l[i * n + k] = f;
            for j in k..n {
                u[i * n + j] -= f * u[k * n + j];
            }
        }
    }
    for i in 0..n {
        l[i * n + i] = 1.0;
    }
    (perm, l, u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn haar_is_orthogonal_and_plu_reconstructs() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let n = 5;
        let q = haar_orthogonal(n, &mut rng);
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n).map(|k| q[k * n + i] * q[k * n + j]).sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        let (perm, l, u) = plu(&q, n);
        for i in 0..n {
            for j in 0..n {
                let lu: f64 = (0..n).map(|k| l[i * n + k] * u[k * n + j]).sum();
                assert!((lu - q[perm[i] * n + j]).abs() < 1e-12);
            }
        }
    }
}
