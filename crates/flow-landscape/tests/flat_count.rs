//! The near-zero count and the share of random directions flatter than a given curvature
//! (`FlatCount`), on planted spectra in random rotations: independent oracles and cases that
//! must fail.

use flow_landscape::dot;
use flow_landscape::hessian::{count_flat, orthonormal_basis};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

fn randn(n: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

#[test]
fn share_of_random_directions_flatter_than_a_curvature_matches_an_oracle_and_can_fail() {
    // Planted spectrum in a random rotation of R^60: a 4-dimensional symmetry span (exact
    // zeros), 20 near-zero eigenvalues and 36 spread over [0.1, 10].
    let n = 60;
    let mut spec = vec![0.0; 4];
    spec.extend([1e-7; 20]);
    spec.extend((0..36).map(|k| 0.1 + 9.9 * (k as f64 / 35.0).powi(3)));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
    let q = orthonormal_basis(&(0..n).map(|_| randn(n, &mut rng)).collect::<Vec<_>>());
    let mut h = nalgebra::DMatrix::<f64>::zeros(n, n);
    for (qk, lk) in q.iter().zip(&spec) {
        let v = nalgebra::DVector::from_column_slice(qk);
        h += &v * v.transpose() * *lk;
    }
    let basis = q[..4].to_vec();
    let count = count_flat(&h, &basis, 1e-4);
    // Oracle: random directions of R^60 projected off the symmetry span, Rayleigh quotient
    // with the matrix itself (no eigenvalues involved).
    let k = 4000;
    let oracle: Vec<f64> = (0..k)
        .map(|_| {
            let w = flow_landscape::hessian::project_complement(&basis, &randn(n, &mut rng));
            let wv = nalgebra::DVector::from_column_slice(&w);
            (wv.transpose() * &h * &wv)[0] / dot(&w, &w)
        })
        .collect();
    let mean = count.mean_curvature();
    for c in [0.3 * mean, 0.7 * mean, mean] {
        let (share, se) = count.share_flatter_than(c, 20_000, &mut rng);
        let p = oracle.iter().filter(|&&x| x <= c).count() as f64 / k as f64;
        let se_o = (p * (1.0 - p) / k as f64).sqrt();
        let tol = 4.0 * (se * se + se_o * se_o).sqrt();
        assert!(
            (share - p).abs() <= tol,
            "c {c}: {share} vs oracle {p} (tol {tol})"
        );
    }
    // A direction inside the near-zero cluster is flatter than every random direction; the
    // stiffest direction is flatter than none, so the experiment's band (share + 2 s.e. ≤
    // 0.01) passes the first and fails the second.
    let (flat, flat_se) = count.share_flatter_than(1e-7, 20_000, &mut rng);
    assert!(flat == 0.0 && flat + 2.0 * flat_se <= 0.01);
    let (stiff, stiff_se) = count.share_flatter_than(count.lambda_max, 20_000, &mut rng);
    assert!(stiff == 1.0 && stiff + 2.0 * stiff_se > 0.01);
}

#[test]
fn count_beyond_symmetries_is_zero_without_extra_flat_directions() {
    // The count row can fail: a spectrum whose only zeros are the symmetry span gives 0
    // beyond the symmetries; two planted near-zeros give exactly 2.
    let n = 30;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(22);
    let q = orthonormal_basis(&(0..n).map(|_| randn(n, &mut rng)).collect::<Vec<_>>());
    let basis = q[..3].to_vec();
    for extra in [0usize, 2] {
        let mut h = nalgebra::DMatrix::<f64>::zeros(n, n);
        for (k, qk) in q.iter().enumerate().skip(3) {
            let lk = if k < 3 + extra { 1e-8 } else { 1.0 + k as f64 };
            let v = nalgebra::DVector::from_column_slice(qk);
            h += &v * v.transpose() * lk;
        }
        let count = count_flat(&h, &basis, 1e-4);
        assert_eq!(count.symmetry_rank, 3);
        assert_eq!(
            count.beyond_symmetries(),
            extra,
            "{:?}",
            &count.eigenvalues[..6]
        );
    }
}
