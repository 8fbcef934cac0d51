//! Training (FFF arXiv:2310.16624 §4, App.): a small FFF learns a correlated Gaussian to its
//! entropy with small reconstruction error; non-finite steps are skipped and the last good
//! parameters restored; checkpoints round-trip and bad files leave the model untouched;
//! sampling is one decoder pass without a tape.

mod common;

use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use flow_freeform::{
    FffLossConfig, FreeFormFlow, JacobianSide, Latent, ResNetConfig, TrainConfig, TrainError,
    Trainer, exact_log_prob,
};

fn model(seed: u64) -> FreeFormFlow {
    let mut rng = common::rng(seed);
    let cfg = ResNetConfig::new(2, 2, &[32, 32], 2);
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F32, &mut rng)),
        Box::new(cfg.build_decoder("dec", DType::F32, &mut rng)),
        Latent::standard_normal(2),
    )
}

/// x = L ε with L = [[1, 0], [0.8, 0.5]]: entropy ½ log det(2πe Σ), det Σ = det(L)² = 0.25.
fn gaussian_data(n: usize, seed: u64) -> Tensor {
    let e = Tensor::randn(&[n, 2], DType::F32, &mut common::rng(seed));
    let l = Tensor::from_slice(&[1.0f32, 0.0, 0.8, 0.5], &[2, 2]);
    e.matmul_transposed(&l)
}

fn parameter_values(m: &FreeFormFlow) -> Vec<Vec<f64>> {
    m.parameters()
        .iter()
        .map(|p| p.get().to_vec_f64())
        .collect()
}

#[test]
fn fff_learns_a_gaussian_to_its_entropy() {
    let m = model(40);
    let data = gaussian_data(4096, 41);
    let test = gaussian_data(2000, 42);
    let entropy =
        0.5 * (2.0 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + 0.25f64.ln());
    let before = exact_log_prob(&m, &test, None, JacobianSide::Decoder, 500).mean_nll();
    let mut trainer = Trainer::new(FffLossConfig::new(50.0), TrainConfig::new(600, 128, 2e-3));
    let report = trainer.fit(&m, &data, None).unwrap();
    assert_eq!(report.curves.loss.len(), 600);
    assert_eq!(report.curves.terms["reconstruction"].len(), 600);
    let eval = exact_log_prob(&m, &test, None, JacobianSide::Decoder, 500);
    let nll = eval.mean_nll();
    // Monte-Carlo SE of the test NLL is ≈ 1/√2000·std(log p) ≈ 0.02; 0.1 nats allows for a
    // short run.
    assert!(
        (nll - entropy).abs() < 0.1,
        "exact NLL {nll} vs entropy {entropy} (before {before})"
    );
    assert!(
        eval.mean_reconstruction() < 0.01,
        "reconstruction {}",
        eval.mean_reconstruction()
    );
}

#[test]
fn non_finite_batches_are_skipped_and_divergence_restores_good_parameters() {
    let m = model(44);
    let params = m.parameters();
    let before: Vec<Vec<f64>> = params.iter().map(|p| p.get().to_vec_f64()).collect();
    let bad = Tensor::full(&[64, 2], f64::NAN, DType::F32);
    let mut trainer = Trainer::new(FffLossConfig::new(10.0), TrainConfig::new(100, 8, 1e-3));
    let err = trainer.fit(&m, &bad, None).unwrap_err();
    // 20 skipped steps in a row are tolerated; the 21st (step 20) stops the run.
    assert!(
        matches!(err, TrainError::NonFinite { step: 20, .. }),
        "{err}"
    );
    for (p, b) in params.iter().zip(&before) {
        assert_eq!(&p.get().to_vec_f64(), b, "{} changed", p.name());
    }
    // One NaN row among good data: that batch is skipped, training goes on.
    let mut data = gaussian_data(64, 46).to_vec_f32();
    data[0] = f32::NAN;
    let data = Tensor::from_vec(data, &[64, 2]);
    let mut trainer = Trainer::new(FffLossConfig::new(10.0), TrainConfig::new(60, 16, 1e-3));
    let report = trainer.fit(&m, &data, None).unwrap();
    let skipped = report.curves.skipped.len();
    assert!(skipped > 0 && skipped < 60 && report.curves.loss.len() == 60);
    assert!(params.iter().all(|p| p.get().all_finite()));
}

#[test]
fn checkpoints_round_trip_and_bad_files_leave_the_model_untouched() {
    let dir = std::env::temp_dir().join(format!("fff-ck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let m = model(48);
    let mut trainer = Trainer::new(
        FffLossConfig::new(10.0),
        TrainConfig::new(10, 16, 1e-3).with_checkpoint(&path, 5),
    );
    trainer.fit(&m, &gaussian_data(64, 49), None).unwrap();
    assert!(path.exists(), "training wrote no checkpoint");
    m.save(&path).unwrap();
    let saved = parameter_values(&m);
    let other = model(51);
    other.load(&path).unwrap();
    let loaded = parameter_values(&other);
    assert_eq!(saved, loaded);
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let fresh = model(52);
    let untouched = parameter_values(&fresh);
    assert!(fresh.load(&path).is_err());
    let after = parameter_values(&fresh);
    assert_eq!(untouched, after);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sampling_is_one_untracked_decoder_pass() {
    let m = model(53);
    let s = m.sample(7, None, &mut common::rng(54));
    assert_eq!(s.shape(), &[7, 2]);
    assert!(!s.is_tracked());
    let z = Latent::standard_normal(2).sample(7, DType::F32, &mut common::rng(54));
    assert_eq!(s.to_vec_f64(), m.decode(&z, None).to_vec_f64());
}

/// A run cancelled at step 20 and resumed from its checkpoint by a fresh model and trainer
/// ends bit-identical to an uninterrupted 40-step run (parameters, Adam moments, the schedule
/// position and the per-step random streams all come back); a checkpoint of another model is
/// refused.
#[test]
fn resumed_training_matches_an_uninterrupted_run() {
    let dir = std::env::temp_dir().join(format!("fff-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let data = gaussian_data(256, 60);
    let config = || {
        TrainConfig::new(40, 32, 2e-3)
            .with_schedule(flow_core::optim::Schedule::one_cycle(40))
            .with_checkpoint(&path, 20)
    };
    let whole = model(61);
    Trainer::new(
        FffLossConfig::new(10.0),
        TrainConfig::new(40, 32, 2e-3).with_schedule(flow_core::optim::Schedule::one_cycle(40)),
    )
    .fit(&whole, &data, None)
    .unwrap();

    let first = model(61);
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut cancelled =
        Trainer::new(FffLossConfig::new(10.0), config()).with_cancel_flag(flag.clone());
    let mut calls = 0;
    let err = cancelled
        .fit_validated(&first, &data, None, |_, _| {
            calls += 1;
            if calls == 21 {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            0.0
        })
        .unwrap_err();
    assert!(matches!(err, TrainError::Cancelled { step: 20 }), "{err}");
    let second = model(63);
    let mut trainer = Trainer::new(FffLossConfig::new(10.0), config());
    assert_eq!(trainer.resume(&second, &path).unwrap(), 20);
    assert_eq!(parameter_values(&second), parameter_values(&first));
    let report = trainer.fit(&second, &data, None).unwrap();
    assert_eq!(
        report.curves.loss.len(),
        40,
        "resumed run did not stop at step 40"
    );
    assert_eq!(parameter_values(&second), parameter_values(&whole));

    let mut rng = common::rng(64);
    let cfg = ResNetConfig::new(2, 2, &[16], 1);
    let other = FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F32, &mut rng)),
        Box::new(cfg.build_decoder("dec", DType::F32, &mut rng)),
        Latent::standard_normal(2),
    );
    let mut stranger = Trainer::new(FffLossConfig::new(10.0), config());
    assert!(matches!(
        stranger.resume(&other, &path),
        Err(TrainError::Checkpoint(_))
    ));
    std::fs::remove_dir_all(&dir).ok();
}

/// The last step is checkpointed even when it is not a multiple of the interval, so a
/// finished run resumes to a no-op holding the final parameters and its training seconds.
#[test]
fn a_finished_run_resumes_to_a_no_op() {
    let dir = std::env::temp_dir().join(format!("fff-finished-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let data = gaussian_data(128, 70);
    let config = || TrainConfig::new(25, 16, 2e-3).with_checkpoint(&path, 10);
    let trained = model(71);
    let first = Trainer::new(FffLossConfig::new(10.0), config())
        .fit(&trained, &data, None)
        .unwrap();
    assert_eq!(first.curves.loss.len(), 25);
    assert_eq!(first.total_seconds, first.seconds);

    let restored = model(73);
    let mut trainer = Trainer::new(FffLossConfig::new(10.0), config());
    assert_eq!(trainer.resume(&restored, &path).unwrap(), 25);
    assert_eq!(parameter_values(&restored), parameter_values(&trained));
    let again = trainer.fit(&restored, &data, None).unwrap();
    assert_eq!(again.curves.loss.len(), 25, "a finished run trained again");
    let earlier = again.total_seconds - again.seconds;
    assert!(
        earlier > 0.0 && earlier <= first.seconds,
        "restored seconds {earlier} vs the run's {}",
        first.seconds
    );
    assert_eq!(parameter_values(&restored), parameter_values(&trained));
    std::fs::remove_dir_all(&dir).ok();
}
