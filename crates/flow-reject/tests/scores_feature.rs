//! Feature scores against hand-computed values and invariances (competence-regions.md §5
//! PT-F1, §6 items 2–5) and the regularisation of singular covariances.

mod common;

use common::{as_row, fit, head, randn, train_set};
use flow_reject::scores::{DeepKnn, Energy, GaussianDensity, Hbos, Mahalanobis, PcaError, Vim};
use flow_reject::{FitData, IncompetenceScore, Observed, RejectError, ScoreKind};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn knn_is_zero_at_training_points_and_matches_brute_force() {
    let (obs, labels, h) = train_set(50, 4, 3, 2);
    let mut k1 = DeepKnn::new(1);
    fit(&mut k1, &obs, &labels, &h);
    for v in k1.score(&obs).unwrap() {
        // 2 − 2 aᵀa for unit a: rounding of the dot product only.
        assert!(v.abs() < 1e-12, "{v}");
    }
    // Brute force k-th neighbour of normalised features, k = 3.
    let mut k3 = DeepKnn::new(3);
    fit(&mut k3, &obs, &labels, &h);
    let q = randn(7, 4, 9);
    let qo = Observed::new(q.clone(), h.logits(&q));
    let ours = k3.score(&qo).unwrap();
    let unit = |r: nalgebra::DVector<f64>| r.normalize();
    for (i, o) in ours.iter().enumerate() {
        let qi = unit(q.row(i).transpose());
        let mut d: Vec<f64> = obs
            .features
            .row_iter()
            .map(|t| (unit(t.transpose()) - &qi).norm_squared())
            .collect();
        d.sort_by(f64::total_cmp);
        assert!((o - d[2]).abs() < 1e-12, "{o} vs {}", d[2]);
    }
    // Scale invariance: features are normalised first.
    let scaled = Observed::new(&q * 7.5, h.logits(&q));
    for (a, b) in k3.score(&scaled).unwrap().iter().zip(&ours) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn knn_with_k_above_n_is_a_typed_error() {
    let (obs, labels, h) = train_set(5, 3, 2, 4);
    let mut k = DeepKnn::new(6);
    let err = k
        .fit(&FitData {
            train: &obs,
            labels: &labels,
            head: &h,
        })
        .unwrap_err();
    assert_eq!(
        err,
        RejectError::TooFewSamples {
            score: "Deep-KNN",
            need: 6,
            got: 5
        }
    );
}

/// Per class, the points `μ_c ± √D e_j`: the class-centred covariance is exactly `I`.
fn identity_cov_set(means: &[[f64; 3]]) -> (DMatrix<f64>, Vec<usize>) {
    let d = 3;
    let a = (d as f64).sqrt();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (c, m) in means.iter().enumerate() {
        for j in 0..d {
            for s in [-a, a] {
                let mut p = *m;
                p[j] += s;
                rows.extend_from_slice(&p);
                labels.push(c);
            }
        }
    }
    (DMatrix::from_row_slice(labels.len(), d, &rows), labels)
}

#[test]
fn mahalanobis_with_identity_covariance_is_squared_distance_to_nearest_mean() {
    let means = [[0.0, 0.0, 0.0], [4.0, 1.0, -2.0]];
    let (f, labels) = identity_cov_set(&means);
    let h = head(2, 3, 5);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let mut m = Mahalanobis::default();
    fit(&mut m, &obs, &labels, &h);
    let q = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 0.0, 3.0, 1.0, -1.0]);
    let s = m.score(&Observed::new(q.clone(), h.logits(&q))).unwrap();
    // (1,2,0): to mean 0 → 5, to mean 1 → 9+1+4 = 14 → 5. (3,1,−1): 11 vs 1+0+1 = 2 → 2.
    assert!(
        (s[0] - 5.0).abs() < 1e-10 && (s[1] - 2.0).abs() < 1e-10,
        "{s:?}"
    );
    // The explicit-parameter constructor agrees.
    let direct = Mahalanobis::from_parameters(
        &DMatrix::from_row_slice(2, 3, &[0.0, 0.0, 0.0, 4.0, 1.0, -2.0]),
        DMatrix::identity(3, 3),
    );
    assert_eq!(
        direct
            .score(&Observed::new(q.clone(), h.logits(&q)))
            .unwrap(),
        vec![5.0, 2.0]
    );
    // Translating training and query features together leaves the score unchanged.
    let shift = DVector::from_vec(vec![10.0, -3.0, 0.5]);
    let move_rows = |m: &DMatrix<f64>| flow_reject::linalg::sub_row(m, &(-&shift));
    let obs2 = Observed::new(move_rows(&f), h.logits(&f));
    let mut m2 = Mahalanobis::default();
    fit(&mut m2, &obs2, &labels, &h);
    let s2 = m2
        .score(&Observed::new(move_rows(&q), h.logits(&q)))
        .unwrap();
    assert!(
        (s2[0] - 5.0).abs() < 1e-9 && (s2[1] - 2.0).abs() < 1e-9,
        "{s2:?}"
    );
}

#[test]
fn singular_covariances_are_regularised_not_nan() {
    // Feature 2 is dead (always 0): the covariance is singular.
    let mut f = randn(40, 3, 6);
    f.column_mut(2).fill(0.0);
    let h = head(2, 3, 7);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
    let q = randn(5, 3, 8);
    let qo = Observed::new(q.clone(), h.logits(&q));
    for kind in [
        ScoreKind::Mahalanobis,
        ScoreKind::Gmm,
        ScoreKind::Pca,
        ScoreKind::Hbos,
        ScoreKind::Vim,
    ] {
        let s = kind
            .fit(
                1,
                &FitData {
                    train: &obs,
                    labels: &labels,
                    head: &h,
                },
            )
            .unwrap();
        assert!(
            s.score(&qo).unwrap().iter().all(|v| v.is_finite()),
            "{kind:?}"
        );
    }
    // Mahalanobis ignores the null direction (pseudo-inverse): moving along it changes nothing.
    let mut m = Mahalanobis::default();
    fit(&mut m, &obs, &labels, &h);
    let mut q2 = q.clone();
    q2.column_mut(2).fill(100.0);
    let (a, b) = (
        m.score(&qo).unwrap(),
        m.score(&Observed::new(q2.clone(), h.logits(&q2))).unwrap(),
    );
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-8 * (1.0 + x.abs()));
    }
}

#[test]
fn gaussian_density_is_the_normal_negative_log_likelihood() {
    // Points ±1 on each axis of R²: mean 0, covariance ½ I (+ 1e-6 I).
    let f = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0]);
    let h = head(2, 2, 11);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let mut g = GaussianDensity::default();
    fit(&mut g, &obs, &[0, 0, 1, 1], &h);
    let q = DMatrix::from_row_slice(1, 2, &[1.0, 1.0]);
    let s = g.score(&Observed::new(q.clone(), h.logits(&q))).unwrap()[0];
    let var: f64 = 0.5 + 1e-6;
    let want = 0.5 * (2.0 / var + 2.0 * var.ln() + 2.0 * (2.0 * std::f64::consts::PI).ln());
    assert!((s - want).abs() < 1e-12, "{s} vs {want}");
}

#[test]
fn vim_origin_residual_and_reduction_to_energy() {
    let (obs, labels, h) = train_set(300, 8, 3, 12);
    let mut v = Vim::new(3);
    fit(&mut v, &obs, &labels, &h);
    let fitv = v.fitted().unwrap().clone();
    // W u + b = 0 (W is 3×8 of full row rank).
    let wub = &h.weight * &fitv.origin + &h.bias;
    assert!(wub.norm() < 1e-10, "{wub}");
    // The residual projector R Rᵀ is idempotent with orthonormal columns.
    let r = &fitv.residual;
    assert_eq!(r.ncols(), 5);
    assert!((r.transpose() * r - DMatrix::identity(5, 5)).norm() < 1e-10);
    // A feature with zero residual (f − u in the principal space) scores −logsumexp(l).
    let principal = DMatrix::identity(8, 8) - r * r.transpose();
    let x = principal * DVector::from_vec(vec![1.0, -2.0, 0.5, 3.0, 0.0, 1.0, -1.0, 2.0]);
    let f = as_row(&(x + &fitv.origin));
    let o = Observed::new(f.clone(), h.logits(&f));
    let (vim, en) = (v.score(&o).unwrap()[0], Energy.score(&o).unwrap()[0]);
    assert!((vim - en).abs() < 1e-9, "{vim} vs {en}");
    assert_eq!(flow_reject::scores::paper_dim(2048), 1000);
    assert_eq!(flow_reject::scores::paper_dim(1024), 512);
    assert_eq!(flow_reject::scores::paper_dim(512), 256);
}

#[test]
fn pca_is_zero_in_the_kept_subspace_and_keeps_enough_variance() {
    // Variance 100 along x, 1 along y, 0.01 along z: keeping 90 % needs only x.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(13);
    let f = DMatrix::from_fn(500, 3, |_, j| {
        let s = [10.0, 1.0, 0.1][j];
        let z: f64 = StandardNormal.sample(&mut rng);
        s * z
    });
    let h = head(2, 3, 14);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let labels = vec![0; 500];
    let mut p = PcaError::new(0.9);
    fit(&mut p, &obs, &labels, &h);
    let (k, frac) = p.kept().unwrap();
    assert_eq!(k, 1);
    assert!(frac >= 0.9);
    // The mean plus a multiple of the first direction reconstructs exactly.
    let mu = flow_reject::linalg::column_mean(&f);
    let (_, vecs) = flow_reject::linalg::eigh_descending(&flow_reject::linalg::second_moment(
        &flow_reject::linalg::sub_row(&f, &mu),
    ));
    let inside = as_row(&(&mu + vecs.column(0) * 3.0));
    let s = p
        .score(&Observed::new(inside.clone(), h.logits(&inside)))
        .unwrap()[0];
    assert!(s.abs() < 1e-20, "{s}");
    // Off the subspace by e (unit, orthogonal to v₀): error ‖e‖²/D = 1/3.
    let off = as_row(&(&mu + vecs.column(1)));
    let s = p
        .score(&Observed::new(off.clone(), h.logits(&off)))
        .unwrap()[0];
    assert!((s - 1.0 / 3.0).abs() < 1e-12, "{s}");
}

#[test]
fn hbos_matches_hand_computed_histograms() {
    // One feature, values 0, 0, 1, 2, …, 9 → 10 bins of width 0.9 on [0, 9]; value v falls in
    // bin ⌊v / 0.9⌋ (9 in the last), so the counts are (2, 1, 1, …, 1).
    // Density = count / (11 · 0.9).
    let vals = [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let f = DMatrix::from_column_slice(11, 1, &vals);
    let h = head(2, 1, 15);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let mut hb = Hbos::new(10);
    fit(&mut hb, &obs, &[0; 11], &h);
    let q = DMatrix::from_column_slice(3, 1, &[0.1, 4.5, 100.0]);
    let s = hb.score(&Observed::new(q.clone(), h.logits(&q))).unwrap();
    let dens = |c: f64| c / (11.0 * 0.9);
    let want = |d: f64| -(d + 0.1f64).log2();
    assert!((s[0] - want(dens(2.0))).abs() < 1e-12);
    assert!((s[1] - want(dens(1.0))).abs() < 1e-12);
    // Far outside the range (beyond tol = ½ bin): the smallest bin density.
    let min_density = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        .iter()
        .map(|&c| dens(c))
        .fold(f64::INFINITY, f64::min);
    assert!((s[2] - want(min_density)).abs() < 1e-12);
}
