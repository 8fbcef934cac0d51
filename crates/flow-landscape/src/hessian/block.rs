//! Block Lanczos with full re-orthogonalisation: a block of `b` start vectors sees up to `b`
//! copies of a repeated eigenvalue, so the multiplicity of a (near-)zero cluster can be
//! counted without a dense Hessian (paper note §3: block size 8–16).

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::dense::symmetric_eigen;
use super::lanczos::Ritz;
use crate::objective::{dot, norm};

/// Builds an orthonormal basis of the block Krylov space
/// `span{V, AV, …, A^{steps−1}V}` of a random `n × block` start `V` (every new vector is
/// orthogonalised twice against all earlier ones; dependent vectors are dropped), then does
/// the Rayleigh–Ritz step on `T = Qᵀ A Q` explicitly. Residuals `‖A y − θ y‖` are computed
/// from the stored products `A Q`, not estimated. Costs `block · steps` operator calls.
///
/// ```
/// use flow_landscape::hessian::block_lanczos;
/// let diag = [0.0, 0.0, 1.0, 2.0, 3.0];
/// let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(0);
/// let r = block_lanczos(|v: &[f64]| v.iter().zip(&diag).map(|(x, d)| x * d).collect(), 5, 2, 3, &mut rng);
/// assert!(r.values[0].abs() < 1e-12 && r.values[1].abs() < 1e-12); // both zeros found
/// ```
pub fn block_lanczos<R: Rng + ?Sized>(
    mut op: impl FnMut(&[f64]) -> Vec<f64>,
    n: usize,
    block: usize,
    steps: usize,
    rng: &mut R,
) -> Ritz {
    let mut q: Vec<Vec<f64>> = Vec::new();
    let mut aq: Vec<Vec<f64>> = Vec::new();
    let mut candidates: Vec<Vec<f64>> = (0..block)
        .map(|_| (0..n).map(|_| StandardNormal.sample(rng)).collect())
        .collect();
    for _ in 0..steps {
        let mut added = Vec::new();
        for mut w in candidates {
            let n0 = norm(&w);
            for _ in 0..2 {
                for qi in &q {
                    let c = dot(&w, qi);
                    w.iter_mut().zip(qi).for_each(|(x, y)| *x -= c * y);
                }
            }
            let r = norm(&w);
            if r > 1e-10 * n0 && q.len() < n {
                w.iter_mut().for_each(|x| *x /= r);
                aq.push(op(&w));
                q.push(w);
                added.push(q.len() - 1);
            }
        }
        if added.is_empty() {
            break;
        }
        candidates = added.iter().map(|&i| aq[i].clone()).collect();
    }
    let k = q.len();
    let t = DMatrix::from_fn(k, k, |i, j| 0.5 * (dot(&q[i], &aq[j]) + dot(&q[j], &aq[i])));
    let (values, s) = symmetric_eigen(&t);
    let mut vectors = Vec::with_capacity(k);
    let mut residuals = Vec::with_capacity(k);
    for (c, theta) in values.iter().enumerate() {
        let (mut y, mut ay) = (vec![0.0; n], vec![0.0; n]);
        for i in 0..k {
            let w = s[(i, c)];
            y.iter_mut().zip(&q[i]).for_each(|(a, b)| *a += w * b);
            ay.iter_mut().zip(&aq[i]).for_each(|(a, b)| *a += w * b);
        }
        let res: Vec<f64> = ay.iter().zip(&y).map(|(a, b)| a - theta * b).collect();
        residuals.push(norm(&res));
        vectors.push(y);
    }
    Ritz {
        values,
        residuals,
        vectors,
    }
}
