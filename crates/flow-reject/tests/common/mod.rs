//! Shared builders of hand-made score inputs.
#![allow(dead_code)]

use flow_reject::{FitData, Head, IncompetenceScore, Observed};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

pub fn randn(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    DMatrix::from_fn(rows, cols, |_, _| StandardNormal.sample(&mut rng))
}

pub fn head(c: usize, d: usize, seed: u64) -> Head {
    Head {
        weight: randn(c, d, seed),
        bias: DVector::from_column_slice(randn(c, 1, seed + 1).as_slice()),
    }
}

/// A training set: random features, logits from the head, labels = argmax.
pub fn train_set(n: usize, d: usize, c: usize, seed: u64) -> (Observed, Vec<usize>, Head) {
    let h = head(c, d, seed + 100);
    let f = randn(n, d, seed);
    let obs = Observed::new(f.clone(), h.logits(&f));
    let labels = obs.predictions();
    (obs, labels, h)
}

pub fn fit(s: &mut dyn IncompetenceScore, obs: &Observed, labels: &[usize], head: &Head) {
    s.fit(&FitData {
        train: obs,
        labels,
        head,
    })
    .unwrap();
}

/// A column vector as a one-row matrix.
pub fn as_row(v: &DVector<f64>) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, v.len(), v.as_slice())
}

pub fn logits_only(l: &[f64], c: usize) -> Observed {
    let n = l.len() / c;
    Observed::new(DMatrix::zeros(n, 1), DMatrix::from_row_slice(n, c, l))
}
