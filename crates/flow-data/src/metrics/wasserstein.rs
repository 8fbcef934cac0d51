//! Wasserstein distances between sample sets: sliced W₂ (random projections, any n) and the
//! exact empirical W₂ for equal-size sets by optimal assignment (Hungarian, O(n³): n ≲ 1000).
//!
//! References: Bonneel et al., "Sliced and Radon Wasserstein barycenters", JMIV 2015;
//! Kuhn (1955) / Munkres (1957) assignment.

use flow_core::{DType, Tensor};
use rand::Rng;

/// Sliced W₂: `sqrt(mean_θ W₂²(θᵀX, θᵀY))` over `projections` directions uniform on the
/// sphere; 1-D W₂ between equal-size sorted samples (sizes may differ: quantiles are
/// matched on a common grid of `max(n, m)` levels).
///
/// # Panics
/// If `x`, `y` are not 2-D with the same number of columns or are empty.
pub fn sliced_wasserstein<R: Rng + ?Sized>(
    x: &Tensor,
    y: &Tensor,
    projections: usize,
    rng: &mut R,
) -> f64 {
    assert!(
        x.ndim() == 2 && y.ndim() == 2 && x.dim(1) == y.dim(1),
        "sliced_wasserstein: shapes {:?} {:?}",
        x.shape(),
        y.shape()
    );
    assert!(
        x.dim(0) > 0 && y.dim(0) > 0,
        "sliced_wasserstein: empty sample"
    );
    let d = x.dim(1);
    let dirs = Tensor::randn(&[d, projections], DType::F64, rng);
    let dirs = dirs.div(&dirs.norm(0, true));
    let px = x.to_dtype(DType::F64).matmul(&dirs).t().to_vec_f64();
    let py = y.to_dtype(DType::F64).matmul(&dirs).t().to_vec_f64();
    let (n, m) = (x.dim(0), y.dim(0));
    let mut total = 0.0;
    for k in 0..projections {
        let mut a = px[k * n..(k + 1) * n].to_vec();
        let mut b = py[k * m..(k + 1) * m].to_vec();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let levels = n.max(m);
        total += (0..levels)
            .map(|i| {
                let q = (i as f64 + 0.5) / levels as f64;
                (a[(q * n as f64) as usize] - b[(q * m as f64) as usize]).powi(2)
            })
            .sum::<f64>()
            / levels as f64;
    }
    (total / projections as f64).sqrt()
}

/// Exact W₂ between two equal-size empirical measures:
/// `sqrt(min_σ (1/n) Σ_i ‖x_i − y_σ(i)‖²)` by the Hungarian algorithm.
///
/// # Panics
/// If the shapes differ or are not 2-D, or the sets are empty.
pub fn wasserstein2_exact(x: &Tensor, y: &Tensor) -> f64 {
    assert!(
        x.ndim() == 2 && x.shape() == y.shape() && x.dim(0) > 0,
        "wasserstein2_exact: shapes {:?} {:?}",
        x.shape(),
        y.shape()
    );
    let (n, d) = (x.dim(0), x.dim(1));
    let (a, b) = (x.to_vec_f64(), y.to_vec_f64());
    let cost: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            (0..d).map(|t| (a[i * d + t] - b[j * d + t]).powi(2)).sum()
        })
        .collect();
    let assignment = hungarian(&cost, n);
    (assignment
        .iter()
        .enumerate()
        .map(|(i, &j)| cost[i * n + j])
        .sum::<f64>()
        / n as f64)
        .sqrt()
}

/// Minimum-cost perfect assignment for a square cost matrix (row-major); returns the column
/// of each row. Shortest augmenting paths with potentials, O(n³).
fn hungarian(cost: &[f64], n: usize) -> Vec<usize> {
    let inf = f64::INFINITY;
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let (i0, mut delta, mut j1) = (p[j0], inf, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0; n];
    for j in 1..=n {
        out[p[j] - 1] = j - 1;
    }
    out
}
