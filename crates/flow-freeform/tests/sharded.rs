//! Data-parallel free-form training (`sharded`): with the exact decoder volume (no random
//! vectors) it follows `Trainer::fit` up to round-off; with the surrogate it is bit-identical
//! at one and two threads and still trains.

use flow_core::parallel::with_thread_budget;
use flow_core::{DType, Tensor};
use flow_freeform::sharded::replicas;
use flow_freeform::{
    FffLossConfig, Latent, ModelSpec, NetConfig, ResNetConfig, TrainConfig, Trainer, VolumeTerm,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn spec() -> ModelSpec {
    ModelSpec {
        net: NetConfig::ResNet(ResNetConfig::new(2, 2, &[16], 1)),
        latent: Latent::standard_normal(2),
        dtype: DType::F64,
        seed: 6,
    }
}

fn data() -> Tensor {
    let x = Tensor::randn(
        &[200, 2],
        DType::F64,
        &mut Xoshiro256PlusPlus::seed_from_u64(2),
    );
    x.mul(&Tensor::from_vec(vec![1.5, 0.5], &[1, 2]))
}

/// Parameters and losses after 20 steps of batch 40 (sharded in three at `budget` threads).
fn train(loss: &FffLossConfig, sharded: bool, budget: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let spec = spec();
    let model = spec.build();
    let config = TrainConfig::new(20, 40, 3e-3).with_seed(1);
    let mut trainer = Trainer::new(loss.clone(), config);
    let x = data();
    let report = with_thread_budget(budget, || {
        if sharded {
            trainer.fit_sharded(&model, &replicas(&spec, 3), &x, None)
        } else {
            trainer.fit(&model, &x, None)
        }
    })
    .expect("finite");
    let params = flow_core::nn::Module::parameters(&model)
        .iter()
        .map(|p| p.get().to_vec_f64())
        .collect();
    (params, report.curves.loss)
}

fn worst(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn exact_volume_sharded_training_follows_fit() {
    let loss = FffLossConfig::new(10.0).with_volume(VolumeTerm::DecoderExact);
    let (full, full_loss) = train(&loss, false, 2);
    let (sharded, sharded_loss) = train(&loss, true, 2);
    // The same minibatches and a deterministic loss: round-off through 20 Adam steps.
    assert!(worst(&full, &sharded) < 1e-9, "{}", worst(&full, &sharded));
    for (a, b) in full_loss.iter().zip(&sharded_loss) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn surrogate_sharded_training_ignores_the_thread_count_and_trains() {
    let loss = FffLossConfig::new(10.0);
    let (one, one_loss) = train(&loss, true, 1);
    let (two, two_loss) = train(&loss, true, 2);
    assert_eq!(worst(&one, &two), 0.0);
    assert_eq!(one_loss, two_loss);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&one_loss[15..]) < mean(&one_loss[..5]),
        "the loss falls: {one_loss:?}"
    );
}
