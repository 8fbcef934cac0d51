//! Small dense factorisations in plain f64 used to *initialise* blocks (Haar rotations, the
//! PLU split of the LU-linear layer). flow-core has differentiable `inverse`/`slogdet` but no
//! QR or exposed LU factors, so these live here; they never sit on a gradient path.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A Haar-distributed orthogonal `n × n` matrix (row-major): QR of a Gaussian matrix by
/// modified Gram–Schmidt, columns multiplied by `sign(diag R)` (Mezzadri, arXiv math-ph/0609050).
pub fn haar_orthogonal<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    let a: Vec<f64> = (0..n * n).map(|_| StandardNormal.sample(rng)).collect();
    // Columns of a, orthonormalised in place.
    let mut q = vec![vec![0.0; n]; n];
    for (j, col) in q.iter_mut().enumerate() {
        for i in 0..n {
            col[i] = a[i * n + j];
        }
    }
    for j in 0..n {
        for p in 0..j {
            let (done, rest) = q.split_at_mut(j);
            let dot: f64 = done[p].iter().zip(rest[0].iter()).map(|(x, y)| x * y).sum();
            for i in 0..n {
                rest[0][i] -= dot * done[p][i];
            }
        }
        // R_jj = ‖col‖ > 0, so the sign correction is already applied by normalising.
        let norm = q[j].iter().map(|x| x * x).sum::<f64>().sqrt();
        for v in q[j].iter_mut() {
            *v /= norm;
        }
    }
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = q[j][i];
        }
    }
    out
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
