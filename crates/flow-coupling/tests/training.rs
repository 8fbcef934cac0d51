//! Training: NaN stops keep the last good checkpoint; resuming gives identical numbers;
//! maximum likelihood and reverse KL actually fit a Gaussian whose answer is known.

use std::cell::Cell;

use flow_core::io::Checkpoint;
use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use flow_coupling::train::NonFinite;
use flow_coupling::train::nll::{Dataset, evaluate_nll, nll_loss, train_nll};
use flow_coupling::train::reverse_kl::{flow_reverse_ess, train_reverse_kl};
use flow_coupling::*;
use flow_data::energy::{DiagonalGaussian, Tempered};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn small_flow(seed: u64) -> Flow {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    RealNvpConfig::new(2)
        .with_blocks(3)
        .with_hidden(&[16])
        .build(DType::F32, &mut rng)
}

/// Correlated Gaussian: x₁ ~ N(1, 1), x₂ = 0.8 x₁ + 0.3 ε. Entropy = ln(2πe) + ln(0.3).
fn gaussian_data(n: usize, seed: u64) -> Tensor {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let e = Tensor::randn(&[n, 2], DType::F64, &mut rng).to_vec_f64();
    let v: Vec<f64> = e
        .chunks(2)
        .flat_map(|p| [1.0 + p[0], 0.8 * (1.0 + p[0]) + 0.3 * p[1]])
        .collect();
    Tensor::from_vec(v, &[n, 2])
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "flow-coupling-{name}-{}.safetensors",
        std::process::id()
    ))
}

#[test]
fn nan_stops_with_step_and_keeps_last_good_checkpoint() {
    let flow = small_flow(0);
    let data = gaussian_data(256, 1).to_dtype(DType::F32);
    let path = tmp("nan");
    let mut trainer =
        Trainer::new(&flow, TrainConfig::new(20).with_batch_size(64)).with_checkpoints(&path, 3);
    let calls = Cell::new(0u64);
    let err = trainer
        .run(|f, _| {
            // NaN loss at step 7 (0-based): the 8th call.
            let factor = if calls.replace(calls.get() + 1) == 7 {
                f64::NAN
            } else {
                1.0
            };
            nll_loss(f, &data, None).mul_scalar(factor)
        })
        .expect_err("must stop");
    match err {
        TrainError::NonFinite {
            step,
            quantity,
            last_checkpoint,
        } => {
            assert_eq!((step, quantity), (7, NonFinite::Loss));
            assert_eq!(last_checkpoint.as_deref(), Some(path.as_path()));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(trainer.step(), 7);
    // The file holds step 6 (the last multiple of 3) and is readable; the model in memory is
    // the last good one (after step 6), still finite.
    let ck = Checkpoint::load(&path).expect("checkpoint intact");
    assert_eq!(ck.metadata("train.step").expect("step"), "6");
    assert!(flow.parameters().iter().all(|p| p.get().all_finite()));
    std::fs::remove_file(&path).ok();
}

#[test]
fn nan_gradient_is_detected() {
    let flow = small_flow(0);
    let data = gaussian_data(128, 1).to_dtype(DType::F32);
    let mut trainer = Trainer::new(&flow, TrainConfig::new(10));
    let calls = Cell::new(0u64);
    let err = trainer
        .run_until(10, |f, _| {
            let l = nll_loss(f, &data, None);
            if calls.replace(calls.get() + 1) == 4 {
                // √0 has a finite value and an infinite derivative: 0 · ∞ = NaN gradient.
                let p = f.parameters()[0].get().sum_all().mul_scalar(0.0);
                l.add(&p.sqrt())
            } else {
                l
            }
        })
        .expect_err("must stop");
    assert!(
        matches!(
            err,
            TrainError::NonFinite {
                step: 4,
                quantity: NonFinite::GradientNorm,
                last_checkpoint: None
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("non-finite gradient norm at step 4")
    );
}

#[test]
fn resume_gives_identical_numbers() {
    let data = Dataset::new(gaussian_data(512, 2).to_dtype(DType::F32), None);
    let config = TrainConfig::new(24)
        .with_batch_size(64)
        .with_learning_rate(3e-3);
    let straight = small_flow(3);
    straight.initialize(&data.x, None);
    let mut t = Trainer::new(&straight, config.clone());
    train_nll(&mut t, &data, 64).expect("train");
    let losses: Vec<f64> = t.history().iter().map(|r| r.loss).collect();

    let path = tmp("resume");
    let first = small_flow(3);
    first.initialize(&data.x, None);
    let mut t1 = Trainer::new(&first, config.clone()).with_checkpoints(&path, 12);
    t1.run_until(12, |f, rng| {
        let (x, _) = data.batch(64, rng);
        nll_loss(f, &x, None)
    })
    .expect("first half");
    drop(t1);
    let second = small_flow(3); // a fresh process would rebuild the model from its config
    let mut t2 = Trainer::resume(&second, config, &path).expect("resume");
    assert_eq!(t2.step(), 12);
    train_nll(&mut t2, &data, 64).expect("second half");
    // The resumed run's history holds the first half from the checkpoint's curves.
    let resumed: Vec<f64> = t2.history().iter().map(|r| r.loss).collect();
    assert_eq!(resumed, losses);
    for (a, b) in straight.parameters().iter().zip(second.parameters()) {
        assert_eq!(a.get().to_vec_f64(), b.get().to_vec_f64(), "{}", a.name());
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn resume_rejects_a_checkpoint_of_another_model() {
    let path = tmp("mismatch");
    let flow = small_flow(0);
    let t = Trainer::new(&flow, TrainConfig::new(5));
    t.save(&path).expect("save");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let other = RealNvpConfig::new(2)
        .with_blocks(3)
        .with_hidden(&[8])
        .build(DType::F32, &mut rng);
    let err = Trainer::resume(&other, TrainConfig::new(5), &path)
        .err()
        .expect("mismatch");
    assert!(
        err.to_string().contains("layers.1.subnet.layers.0.weight"),
        "{err}"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn maximum_likelihood_fits_a_correlated_gaussian() {
    // Exact entropy ln(2πe) + ln 0.3 = 1.6337 nats; an affine coupling represents the
    // conditional x₂ | x₁ exactly, so the test NLL must approach it. Tolerance 0.05 nats:
    // the Monte Carlo standard error of the test NLL on 4000 samples is √(Var log p / n) =
    // √(1/4000) ≈ 0.016, and 600 Adam steps leave an optimisation gap of a few hundredths.
    let flow = {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        RealNvpConfig::new(2)
            .with_blocks(2)
            .with_hidden(&[32])
            .build(DType::F32, &mut rng)
    };
    let train = Dataset::new(gaussian_data(8192, 10).to_dtype(DType::F32), None);
    let test = Dataset::new(gaussian_data(4000, 11).to_dtype(DType::F32), None);
    flow.initialize(&train.x.narrow(0, 0, 1024), None);
    let mut t = Trainer::new(
        &flow,
        TrainConfig::new(600)
            .with_batch_size(256)
            .with_learning_rate(5e-3),
    );
    train_nll(&mut t, &train, 256).expect("train");
    let nll = evaluate_nll(&flow, &test, 1000);
    let entropy = (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + 0.3f64.ln();
    assert!(
        (nll - entropy).abs() < 0.05,
        "NLL {nll} vs entropy {entropy}"
    );
}

#[test]
fn reverse_kl_learns_a_gaussian_target() {
    // Target N((1, −1), diag(0.5², 2²)); a perfect fit has ESS = 1. 300 steps take a fresh
    // identity flow (ESS ≈ 0.3 at start) above 0.95.
    let target = Tempered::temperature(DiagonalGaussian {
        mean: vec![1.0, -1.0],
        std: vec![0.5, 2.0],
    });
    let flow = {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        RealNvpConfig::new(2)
            .with_blocks(2)
            .with_hidden(&[16])
            .build(DType::F64, &mut rng)
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let before = flow_reverse_ess(&flow, &target, 1.0, 4000, None, &mut rng);
    let mut t = Trainer::new(&flow, TrainConfig::new(300).with_learning_rate(1e-2));
    train_reverse_kl(&mut t, &target, 1.0, 256, None).expect("train");
    let after = flow_reverse_ess(&flow, &target, 1.0, 4000, None, &mut rng);
    assert!(after > 0.95 && after > before, "ESS {before} → {after}");
    // The trained loss estimates −log Z (KL ≥ 0): within 0.05 of it at the end.
    let log_z = target.potential.log_z(1.0);
    let last = t.history().last().expect("steps").loss;
    assert!(
        (last + log_z).abs() < 0.05,
        "loss {last} vs −log Z {}",
        -log_z
    );
}
