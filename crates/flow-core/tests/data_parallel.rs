//! `train::DataParallel`: sharded gradients against the full batch's (the oracle), bit-identity
//! across thread counts, and `Trainer::fit_sharded` against `Trainer::fit`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flow_core::nn::{Activation, Mlp, MlpConfig, Module, Param, values};
use flow_core::parallel::{threads, with_thread_budget};
use flow_core::train::{
    DataParallel, NonFinite, Shard, StepLoss, TrainConfig, TrainError, Trainer,
};
use flow_core::{DType, Data, Tensor, grad};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn build() -> (Mlp, Vec<Param>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let net = MlpConfig::new(3, &[24, 24], 2)
        .with_activation(Activation::Silu)
        .build("net", DType::F64, &mut rng);
    let params = net.parameters();
    (net, params)
}

fn batch(rows: usize) -> Tensor {
    Tensor::randn(
        &[rows, 3],
        DType::F64,
        &mut Xoshiro256PlusPlus::seed_from_u64(9),
    )
}

/// The shard's mean of ‖net(x) − x[:, :2]‖², plus a term.
fn shard_loss(net: &Mlp, x: &Tensor) -> StepLoss {
    let err = net.forward(x).sub(&x.narrow(1, 0, 2));
    let loss = err.square().sum_axis(1, false).mean_all();
    let value = loss.item();
    StepLoss::new(loss).with_term("twice", 2.0 * value)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn sharded_gradient_equals_the_full_batch_gradient() {
    let (net, params) = build();
    // 37 rows in 3 shards: 13 + 13 + 11, unequal weights.
    for (rows, shards) in [(37, 3), (64, 2), (5, 8), (1, 1)] {
        let x = batch(rows);
        let data: Data = x.data().clone();
        let dp = DataParallel::new(shards, build);
        let out = dp.grad(&net, &params, rows, 0, |m: &Mlp, s: &Shard| {
            shard_loss(m, &s.take(&data))
        });
        let full = shard_loss(&net, &x);
        let g = grad(&full.loss, &values(&params).iter().collect::<Vec<_>>());
        assert!(
            (out.loss - full.loss.item()).abs() < 1e-13,
            "{rows}/{shards}"
        );
        assert!((out.terms[0].1 - full.terms[0].1).abs() < 1e-13);
        assert_eq!(out.terms[0].0, "twice");
        for (a, b) in out.grads.iter().zip(&g) {
            assert_eq!(a.shape(), b.shape());
            assert!(
                max_abs_diff(a, b) < 1e-13,
                "{rows}/{shards}: {}",
                max_abs_diff(a, b)
            );
        }
        assert_eq!(dp.cut(rows, 0).len(), shards.min(rows));
    }
}

#[test]
fn shards_are_bit_identical_for_any_thread_count_and_draw_their_own_streams() {
    let (net, params) = build();
    let x = batch(50);
    let data = x.data().clone();
    let dp = DataParallel::new(4, build);
    let noisy = |m: &Mlp, s: &Shard| {
        let xs = s.take(&data);
        let noise = Tensor::randn(xs.shape(), DType::F64, &mut s.rng());
        shard_loss(m, &xs.add(&noise.mul_scalar(0.1)))
    };
    let serial = with_thread_budget(1, || dp.grad(&net, &params, 50, 11, noisy));
    for _ in 0..3 {
        let parallel = dp.grad(&net, &params, 50, 11, noisy);
        assert_eq!(serial.loss.to_bits(), parallel.loss.to_bits());
        for (a, b) in serial.grads.iter().zip(&parallel.grads) {
            let bits = |t: &Tensor| {
                t.to_vec_f64()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(a), bits(b));
        }
    }
    // Another seed draws other noise.
    let other = dp.grad(&net, &params, 50, 12, noisy);
    assert_ne!(other.loss.to_bits(), serial.loss.to_bits());
}

#[test]
fn replicas_are_built_on_the_helpers_and_follow_the_callers_values() {
    if threads() < 2 {
        return; // one core: every shard runs on the caller's model, no replica exists.
    }
    let built = Arc::new(AtomicUsize::new(0));
    let counter = built.clone();
    let dp = DataParallel::new(2, move || {
        counter.fetch_add(1, Ordering::Relaxed);
        build()
    });
    let (net, params) = build();
    let x = batch(40);
    let data = x.data().clone();
    let loss = |m: &Mlp, s: &Shard| shard_loss(m, &s.take(&data));
    // Other tests of this binary may hold the team; retry until this call gets it.
    for _ in 0..2000 {
        dp.grad(&net, &params, 40, 0, loss);
        if built.load(Ordering::Relaxed) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(built.load(Ordering::Relaxed), 1, "one replica, built once");
    // The caller's parameters move; the replica must compute with the new values.
    for p in &params {
        p.set(p.get().mul_scalar(0.5));
    }
    let out = dp.grad(&net, &params, 40, 0, loss);
    let full = shard_loss(&net, &x);
    assert!((out.loss - full.loss.item()).abs() < 1e-13);
    assert_eq!(built.load(Ordering::Relaxed), 1);
}

#[test]
fn fit_sharded_follows_fit_and_is_thread_independent() {
    const MINIBATCH: usize = 21;
    let x = batch(48);
    let draw = |rng: &mut flow_core::train::StepRng| -> Vec<usize> {
        (0..MINIBATCH)
            .map(|_| rand::RngExt::random_range(rng, 0..48))
            .collect()
    };
    let run = |sharded: bool, budget: usize| {
        let (net, params) = build();
        let mut trainer = Trainer::new(params, TrainConfig::new(25, 1e-2).with_seed(5));
        let report = with_thread_budget(budget, || {
            if sharded {
                let dp = DataParallel::new(2, build);
                // The step's stream draws the minibatch on the caller, as `fit`'s loss does.
                trainer.fit_sharded(
                    25,
                    &dp,
                    &net,
                    |_, rng| (x.index_select(0, &draw(rng)).data().clone(), MINIBATCH),
                    |m, s, d| shard_loss(m, &s.take(d)),
                    None,
                )
            } else {
                trainer.fit(|_, rng| shard_loss(&net, &x.index_select(0, &draw(rng))))
            }
        })
        .expect("finite");
        assert_eq!(report.curves.loss.len(), 25);
        (net.parameters(), report.curves.loss)
    };
    let (p_full, c_full) = run(false, 2);
    let (p_one, c_one) = run(true, 1);
    let (p_two, c_two) = run(true, 2);
    assert!(c_full.last() < c_full.first(), "the loss falls");
    for ((a, b), c) in p_full.iter().zip(&p_one).zip(&p_two) {
        // Round-off between the full and the sharded sums, through 25 Adam steps.
        assert!(max_abs_diff(&a.get(), &b.get()) < 1e-9);
        let bits = |p: &Param| {
            p.get()
                .to_vec_f64()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(b), bits(c), "one thread vs two");
    }
    assert_eq!(
        c_one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        c_two.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    for (a, b) in c_full.iter().zip(&c_one) {
        assert!((a - b).abs() < 1e-9);
    }
}

#[test]
fn a_non_finite_shard_stops_training_with_the_step_and_keeps_the_values() {
    let rows = 16;
    let x = batch(rows);
    let data = x.data().clone();
    let (net, params) = build();
    let before = values(&params);
    let dp = DataParallel::new(2, build);
    let mut trainer = Trainer::new(params.clone(), TrainConfig::new(10, 1e-2));
    let err = trainer
        .fit_sharded(
            10,
            &dp,
            &net,
            |step, _| ((data.clone(), step), rows),
            |m, s, (d, step)| {
                let loss = shard_loss(m, &s.take(d));
                if *step == 3 && s.index == 1 {
                    StepLoss::new(loss.loss.mul_scalar(f64::NAN))
                } else {
                    loss
                }
            },
            None,
        )
        .expect_err("NaN at step 3");
    match err {
        TrainError::NonFinite { step, quantity, .. } => {
            assert_eq!(step, 3);
            assert_eq!(quantity, NonFinite::Loss);
        }
        other => panic!("unexpected {other}"),
    }
    // Three good steps moved the parameters; the failed one did not.
    assert!(max_abs_diff(&before[0], &params[0].get()) > 0.0);
    assert!(params.iter().all(|p| p.get().all_finite()));
}

#[test]
fn a_sharded_run_resumed_from_its_checkpoint_equals_an_uninterrupted_one() {
    let x = batch(30);
    let path = std::env::temp_dir().join(format!("dp-resume-{}.safetensors", std::process::id()));
    let config = TrainConfig::new(10, 1e-2)
        .with_seed(3)
        .with_checkpoint(&path, 5);
    let dp = DataParallel::new(2, build);
    // Each step's batch: 16 rows drawn from the step's stream (so a resume must restore it).
    let draw = |rng: &mut flow_core::train::StepRng| -> Vec<usize> {
        (0..16)
            .map(|_| rand::RngExt::random_range(rng, 0..30))
            .collect()
    };
    let run = |trainer: &mut Trainer, net: &Mlp, until: u64| {
        trainer
            .fit_sharded(
                until,
                &dp,
                net,
                |_, rng| (x.index_select(0, &draw(rng)).data().clone(), 16),
                |m, s, d| shard_loss(m, &s.take(d)),
                None,
            )
            .expect("finite")
    };
    let (net_a, params_a) = build();
    let mut whole = Trainer::new(
        params_a.clone(),
        config
            .clone()
            .with_checkpoint(path.with_extension("whole.safetensors"), 5),
    );
    run(&mut whole, &net_a, 10);
    let (net_b, params_b) = build();
    let mut first = Trainer::new(params_b, config.clone());
    run(&mut first, &net_b, 5);
    let (net_c, params_c) = build();
    let mut second = Trainer::new(params_c.clone(), config);
    assert_eq!(second.resume_from(&path).expect("checkpoint"), 5);
    let report = run(&mut second, &net_c, 10);
    assert_eq!(report.curves.loss.len(), 10);
    let bits = |ps: &[Param]| {
        ps.iter()
            .flat_map(|p| p.get().to_vec_f64())
            .map(f64::to_bits)
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&params_a), bits(&params_c));
    std::fs::remove_file(&path).ok();
    std::fs::remove_file(path.with_extension("whole.safetensors")).ok();
}
