//! The training objectives: values against independent oracles and f64 gradient checks.

use flow_core::testing::GradCheck;
use flow_core::{DType, Tensor};
use flow_reject::bench::{ClassifierConfig, LabeledSet, Objective, coral_penalty, cross_entropy};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(
        shape,
        DType::F64,
        &mut Xoshiro256PlusPlus::seed_from_u64(seed),
    )
}

#[test]
fn cross_entropy_matches_hand_values_and_gradients() {
    // Equal logits over 4 classes: ln 4. Logits (ln 3, 0) with label 0: −ln(3/4).
    let l = Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 0.0], &[1, 4]);
    assert!((cross_entropy(&l, &[2], 4).item() - 4f64.ln()).abs() < 1e-14);
    let l = Tensor::from_vec(vec![3f64.ln(), 0.0], &[1, 2]);
    assert!((cross_entropy(&l, &[0], 2).item() + 0.75f64.ln()).abs() < 1e-14);
    let labels = [1, 0, 2];
    GradCheck::default()
        .run(
            &|v: &[Tensor]| cross_entropy(&v[0], &labels, 3),
            &[randn(&[3, 3], 1)],
        )
        .unwrap();
}

/// Mean and unbiased covariance with nalgebra, the oracle of the CORAL penalty.
fn moments(x: &Tensor) -> (DMatrix<f64>, DMatrix<f64>) {
    let (n, d) = (x.dim(0), x.dim(1));
    let m = DMatrix::from_row_slice(n, d, &x.to_vec_f64());
    let mu = m.row_mean();
    let mut c = m.clone();
    for mut r in c.row_iter_mut() {
        r -= &mu;
    }
    let mu = DMatrix::from_row_slice(1, d, mu.as_slice());
    (mu, (c.transpose() * c) / (n as f64 - 1.0))
}

#[test]
fn coral_penalty_matches_an_independent_oracle_and_its_gradients() {
    let (a, b) = (
        randn(&[7, 3], 2),
        randn(&[5, 3], 3).mul_scalar(2.0).add_scalar(1.0),
    );
    let (ma, ca) = moments(&a);
    let (mb, cb) = moments(&b);
    let want = (&ma - &mb).map(|v| v * v).mean() + (&ca - &cb).map(|v| v * v).mean();
    assert!((coral_penalty(&a, &b).item() - want).abs() < 1e-12);
    assert!(coral_penalty(&a, &a).item().abs() < 1e-15);
    GradCheck::default()
        .run(&|v: &[Tensor]| coral_penalty(&v[0], &v[1]), &[a, b])
        .unwrap();
}

#[test]
fn vrex_equals_erm_when_domains_agree_and_penalises_spread() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let net = ClassifierConfig {
        input: 4,
        hidden: 6,
        classes: 3,
    }
    .build(&mut rng);
    let batch = |seed| LabeledSet {
        images: randn(&[8, 4], seed).to_dtype(DType::F32),
        labels: (0..8).map(|i| i % 3).collect(),
    };
    let same = vec![batch(5), batch(5), batch(5)];
    let vrex = Objective::Vrex {
        penalty: 10.0,
        warmup: 0,
    };
    let erm = Objective::Erm.loss(&net, &same, 0, &mut rng).item();
    assert!((vrex.loss(&net, &same, 0, &mut rng).item() - erm).abs() < 1e-6);
    // Different domains: VREx = mean + 10 · population variance of the three risks.
    let diff = vec![batch(6), batch(7), batch(8)];
    let risks: Vec<f64> = diff
        .iter()
        .map(|b| {
            Objective::Erm
                .loss(&net, std::slice::from_ref(b), 0, &mut rng)
                .item()
        })
        .collect();
    let m = risks.iter().sum::<f64>() / 3.0;
    let var = risks.iter().map(|r| (r - m).powi(2)).sum::<f64>() / 3.0;
    let got = vrex.loss(&net, &diff, 0, &mut rng).item();
    // f32 forward passes: relative 1e-5.
    assert!(
        (got - (m + 10.0 * var)).abs() < 1e-5 * got.abs(),
        "{got} vs {}",
        m + 10.0 * var
    );
    // Mixup of a domain with itself (identical batches) is plain ERM whatever λ is.
    let mix = Objective::Mixup { alpha: 0.2 }
        .loss(&net, &same, 0, &mut rng)
        .item();
    assert!((mix - erm).abs() < 1e-5);
}
