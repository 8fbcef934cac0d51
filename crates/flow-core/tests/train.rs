//! The training engine: bit-identical resume after a failure, non-finite policies, validation
//! with best-parameter selection and early stopping, checkpoint validation, `fit_to_data`.

use flow_core::io::Checkpoint;
use flow_core::nn::{Mlp, MlpConfig, Module};
use flow_core::train::{
    FitConfig, NonFinite, NonFinitePolicy, StepLoss, TrainConfig, TrainError, Trainer, fit_to_data,
};
use flow_core::{DType, Tensor};
use rand::{RngExt, SeedableRng};

fn net(seed: u64) -> Mlp {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    MlpConfig::new(2, &[8], 1).build("net", DType::F64, &mut rng)
}

fn data() -> (Tensor, Tensor) {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(99);
    let x = Tensor::randn(&[128, 2], DType::F64, &mut rng);
    let y = x.narrow(1, 0, 1).sin().add(&x.narrow(1, 1, 1).square());
    (x, y)
}

/// The minibatch regression loss of one step, drawn from the step's stream.
fn loss(model: &Mlp, x: &Tensor, y: &Tensor, rng: &mut flow_core::train::StepRng) -> StepLoss {
    let idx: Vec<usize> = (0..16).map(|_| rng.random_range(0..x.dim(0))).collect();
    let err = model
        .forward(&x.index_select(0, &idx))
        .sub(&y.index_select(0, &idx));
    let mse = err.square().mean_all();
    let mae = err.abs().mean_all().item();
    StepLoss::new(mse).with_term("mae", mae)
}

fn flat(model: &Mlp) -> Vec<f64> {
    model
        .parameters()
        .iter()
        .flat_map(|p| p.get().to_vec_f64())
        .collect()
}

fn config(dir: &std::path::Path) -> TrainConfig {
    TrainConfig::new(60, 1e-2)
        .with_seed(5)
        .with_clip_grad_norm(1.0)
        .with_checkpoint(dir.join("run.safetensors"), 20)
        .with_validation(10, None)
}

#[test]
fn a_run_killed_by_a_nan_resumes_bit_identically() {
    let (x, y) = data();
    let validate = |m: &Mlp| m.forward(&x).sub(&y).square().mean_all().item();
    // Uninterrupted reference run.
    let dir_a = tempfile::tempdir().unwrap();
    let a = net(1);
    let mut ta = Trainer::new(a.parameters(), config(dir_a.path()));
    let ra = ta
        .fit_validated(|_, r| loss(&a, &x, &y, r), |_| validate(&a))
        .unwrap();
    // A run whose loss turns NaN at step 45: it stops there, the checkpoint of step 40 stays.
    let dir_b = tempfile::tempdir().unwrap();
    let b = net(1);
    let mut tb = Trainer::new(b.parameters(), config(dir_b.path()));
    let err = tb
        .fit_validated(
            |s, r| {
                let l = loss(&b, &x, &y, r);
                if s == 45 {
                    StepLoss::new(l.loss.mul_scalar(f64::NAN))
                } else {
                    l
                }
            },
            |_| validate(&b),
        )
        .unwrap_err();
    match err {
        TrainError::NonFinite {
            step,
            quantity,
            last_checkpoint,
        } => {
            assert_eq!((step, quantity), (45, NonFinite::Loss));
            assert_eq!(
                last_checkpoint.unwrap(),
                dir_b.path().join("run.safetensors")
            );
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(flat(&b).iter().all(|v| v.is_finite()));
    // A fresh process: another initialisation, resumed from the path alone.
    let c = net(2);
    let mut tc = Trainer::new(c.parameters(), config(dir_b.path()));
    assert_eq!(tc.resume_if_present().unwrap(), Some(40));
    let rc = tc
        .fit_validated(|_, r| loss(&c, &x, &y, r), |_| validate(&c))
        .unwrap();
    assert_eq!(flat(&a), flat(&c), "parameters after resume");
    assert_eq!(ra.curves, rc.curves, "curves after resume");
    assert_eq!(ra.best, rc.best);
    assert_eq!(rc.resumed_from, Some(40));
    assert_eq!(rc.curves.terms["mae"].len(), 60);
}

#[test]
fn a_finished_run_resumes_to_a_no_op() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let a = net(1);
    Trainer::new(a.parameters(), config(dir.path()))
        .fit(|_, r| loss(&a, &x, &y, r))
        .unwrap();
    let b = net(3);
    let mut tb = Trainer::new(b.parameters(), config(dir.path()));
    assert_eq!(tb.resume_if_present().unwrap(), Some(60));
    let report = tb
        .fit(|_, _| -> Tensor { panic!("no step should run") })
        .unwrap();
    assert_eq!(report.steps, 60);
    assert_eq!(flat(&a), flat(&b));
    assert!(report.total_seconds >= report.seconds);
}

#[test]
fn skip_policy_skips_non_finite_steps_and_gives_up_after_too_many() {
    let (x, y) = data();
    let m = net(1);
    let skip =
        TrainConfig::new(30, 1e-2).with_non_finite(NonFinitePolicy::Skip { max_consecutive: 3 });
    let mut t = Trainer::new(m.parameters(), skip.clone());
    let nan_at = |s: u64| s % 10 == 3;
    let report = t
        .fit(|s, r| {
            let l = loss(&m, &x, &y, r);
            if nan_at(s) {
                StepLoss::new(l.loss.mul_scalar(f64::INFINITY))
            } else {
                l
            }
        })
        .unwrap();
    assert_eq!(report.curves.skipped, vec![3, 13, 23]);
    assert!(report.curves.loss[3].is_nan() && report.curves.loss[4].is_finite());
    let m2 = net(1);
    let before = flat(&m2);
    let mut t2 = Trainer::new(m2.parameters(), skip);
    let err = t2
        .fit(|s, r| {
            let l = loss(&m2, &x, &y, r);
            if s >= 5 {
                StepLoss::new(l.loss.mul_scalar(f64::NAN))
            } else {
                l
            }
        })
        .unwrap_err();
    assert!(
        matches!(err, TrainError::NonFinite { step: 8, .. }),
        "{err}"
    );
    assert_ne!(flat(&m2), before, "the five good steps were applied");
    assert!(flat(&m2).iter().all(|v| v.is_finite()));
}

#[test]
fn validation_keeps_the_best_parameters_and_stops_early() {
    let (x, y) = data();
    let m = net(1);
    let config = TrainConfig::new(200, 1e-2).with_validation(10, Some(3));
    let mut t = Trainer::new(m.parameters(), config);
    // A metric that is best at step 50 and worse afterwards.
    let mut at_50 = Vec::new();
    let report = t
        .fit_validated(
            |_, r| loss(&m, &x, &y, r),
            |s| {
                if s == 50 {
                    at_50 = flat(&m);
                }
                (s as f64 - 50.0).abs()
            },
        )
        .unwrap();
    assert!(report.stopped_early);
    assert_eq!(report.best, Some((50, 0.0)));
    assert_eq!(
        report.steps, 80,
        "three validations without a new best after step 50"
    );
    assert_ne!(flat(&m), at_50);
    assert!(t.restore_best());
    assert_eq!(flat(&m), at_50);
}

#[test]
fn bad_checkpoints_give_typed_errors_and_change_nothing() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let m = net(1);
    Trainer::new(m.parameters(), config(dir.path()))
        .fit(|_, r| loss(&m, &x, &y, r))
        .unwrap();
    let good = Checkpoint::load(&path).unwrap();
    let fresh = net(4);
    let before = flat(&fresh);
    let attempt = |ck: &Checkpoint, cfg: TrainConfig| {
        ck.save(&path).unwrap();
        let mut t = Trainer::new(fresh.parameters(), cfg);
        let e = t.resume_if_present().unwrap_err();
        assert_eq!(
            flat(&fresh),
            before,
            "model changed by a failed resume: {e}"
        );
        assert_eq!(t.step(), 0);
        e
    };
    let field = |e: TrainError| match e {
        TrainError::Resume { field, .. } => field,
        other => panic!("expected Resume, got {other}"),
    };
    assert_eq!(
        field(attempt(&good, config(dir.path()).with_seed(6))),
        "train.seed"
    );
    let mut shorter = config(dir.path());
    shorter.steps = 30;
    assert_eq!(field(attempt(&good, shorter)), "train.step");
    let mut tampered = good.clone();
    tampered.set_metadata("train.seconds", "-1e308");
    assert_eq!(
        field(attempt(&tampered, config(dir.path()))),
        "train.seconds"
    );
    let mut no_moments = Checkpoint::new();
    for name in good
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("optim.adam.v"))
    {
        no_moments.insert(name, good.tensor(name).unwrap().clone());
    }
    for key in [
        "train.step",
        "train.seed",
        "train.seconds",
        "train.stopped_early",
        "optim.adam.step",
    ] {
        no_moments.set_metadata(key, good.metadata(key).unwrap());
    }
    assert!(matches!(
        attempt(&no_moments, config(dir.path())),
        TrainError::Checkpoint(_)
    ));
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let mut t = Trainer::new(fresh.parameters(), config(dir.path()));
    assert!(matches!(
        t.resume_if_present(),
        Err(TrainError::Checkpoint(_))
    ));
    assert_eq!(flat(&fresh), before);
}

#[test]
fn fit_to_data_names_the_bad_row() {
    let (mut x, _) = data();
    let v: Vec<f64> = x
        .to_vec_f64()
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i == 2 * 17 + 1 { f64::NAN } else { v })
        .collect();
    x = Tensor::from_vec(v, &[128, 2]);
    let m = net(1);
    let cfg = FitConfig::new(TrainConfig::new(10, 1e-2), 8);
    let err = fit_to_data(m.parameters(), &x, None, &cfg, |b, _| {
        m.forward(b).square().mean_all()
    })
    .unwrap_err();
    assert!(err.to_string().contains("data row 17"), "{err}");
}
