//! The EM-fitted Gaussian mixture: one component reduces to the closed-form Gaussian, EM's
//! log-likelihood never decreases, and separated clusters are recovered.

mod common;

use common::{fit, head, randn, train_set};
use flow_reject::scores::{GaussianDensity, Gmm};
use flow_reject::{FitData, IncompetenceScore, Observed, RejectError};
use nalgebra::DMatrix;

#[test]
fn one_component_equals_the_closed_form_gaussian() {
    let (obs, labels, h) = train_set(200, 4, 3, 20);
    let mut g1 = Gmm::new(1);
    fit(&mut g1, &obs, &labels, &h);
    let mut g = GaussianDensity::default();
    fit(&mut g, &obs, &labels, &h);
    let q = randn(9, 4, 21);
    let qo = Observed::new(q.clone(), h.logits(&q));
    for (a, b) in g1.score(&qo).unwrap().iter().zip(g.score(&qo).unwrap()) {
        // Same MLE; the mixture's weight adds ln(1 + 10 ε/n) ≈ 1e-17 and sums differ in order.
        assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

#[test]
fn em_never_decreases_the_likelihood_and_finds_separated_clusters() {
    // Two clusters of 150 points around (±6, 0, 0) with unit noise.
    let noise = randn(300, 3, 22);
    let f = DMatrix::from_fn(300, 3, |i, j| {
        let centre = if j == 0 {
            if i < 150 { -6.0 } else { 6.0 }
        } else {
            0.0
        };
        centre + noise[(i, j)]
    });
    let h = head(2, 3, 23);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let labels: Vec<usize> = (0..300).map(|i| usize::from(i >= 150)).collect();
    let mut g2 = Gmm::new(2);
    fit(&mut g2, &obs, &labels, &h);
    let hist = g2.history();
    assert!(hist.len() >= 2);
    for w in hist.windows(2) {
        // EM monotonicity (Dempster et al. 1977), up to rounding of sums over 300 points.
        assert!(w[1] >= w[0] - 1e-10, "{hist:?}");
    }
    // A point at a cluster centre is far more likely under 2 components than under 1.
    let mut g1 = Gmm::new(1);
    fit(&mut g1, &obs, &labels, &h);
    let q = DMatrix::from_row_slice(2, 3, &[-6.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let qo = Observed::new(q.clone(), h.logits(&q));
    let (s2, s1) = (g2.score(&qo).unwrap(), g1.score(&qo).unwrap());
    // At a centre: log density ≈ −ln 2 − (3/2) ln 2π ≈ −3.45 (two unit Gaussians), vs the
    // single Gaussian of variance ≈ 37 along x: ≈ −5.3. Between the clusters the order flips.
    assert!(
        (s2[0] - (2f64.ln() + 1.5 * (2.0 * std::f64::consts::PI).ln())).abs() < 0.3,
        "{s2:?}"
    );
    assert!(s2[0] < s1[0] && s2[1] > s1[1], "{s2:?} vs {s1:?}");
}

#[test]
fn more_components_than_samples_is_a_typed_error() {
    let (obs, labels, h) = train_set(3, 2, 2, 24);
    let err = Gmm::new(4)
        .fit(&FitData {
            train: &obs,
            labels: &labels,
            head: &h,
        })
        .unwrap_err();
    assert!(matches!(
        err,
        RejectError::TooFewSamples {
            need: 4,
            got: 3,
            ..
        }
    ));
}
