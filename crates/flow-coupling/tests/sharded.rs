//! Data-parallel training (`train::sharded`): the same minibatches as `train_nll`, the same
//! parameters up to round-off, bit-identical for one or two threads; a spec that does not
//! describe the flow is refused.

use flow_core::distributions::BaseConfig;
use flow_core::nn::Module;
use flow_core::parallel::{threads, with_thread_budget};
use flow_core::{DType, Tensor};
use flow_coupling::train::nll::{Dataset, train_nll};
use flow_coupling::train::sharded::{replicas, train_nll_sharded};
use flow_coupling::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn spec(seed: u64) -> ModelSpec {
    ModelSpec {
        flow: FlowConfig::Nsf(NsfConfig::new(2).with_blocks(2).with_hidden(&[16])),
        base: BaseConfig::default(),
        dtype: DType::F64,
        seed,
    }
}

fn data() -> Dataset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let x = Tensor::randn(&[300, 2], DType::F64, &mut rng).mul_scalar(0.7);
    Dataset::new(x, None)
}

/// Parameters after 30 steps of batch 50 (unsharded, or in `shards` at `budget` threads).
fn train(shards: Option<usize>, budget: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let spec = spec(1);
    let flow = spec.build();
    let data = data();
    let config = TrainConfig::new(30)
        .with_batch_size(50)
        .with_learning_rate(1e-2)
        .with_seed(8);
    let mut trainer = Trainer::new(&flow, config);
    with_thread_budget(budget, || match shards {
        None => train_nll(&mut trainer, &data, 50),
        Some(n) => train_nll_sharded(&mut trainer, &data, 50, &replicas(&spec, &flow, n)),
    })
    .expect("finite");
    let params = flow
        .parameters()
        .iter()
        .map(|p| p.get().to_vec_f64())
        .collect();
    (params, trainer.history().iter().map(|r| r.loss).collect())
}

#[test]
fn sharded_nll_training_follows_train_nll_and_ignores_the_thread_count() {
    let (full, full_loss) = train(None, 2);
    let (one, one_loss) = train(Some(3), 1);
    let (two, two_loss) = train(Some(3), 2);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&full_loss[25..]) < mean(&full_loss[..5]),
        "the NLL falls: {full_loss:?}"
    );
    for ((a, b), c) in full.iter().zip(&one).zip(&two) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        // The same minibatches; sums in another order, through 30 Adam steps.
        assert!(worst < 1e-9, "sharded vs full: {worst}");
        let bits = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(b), bits(c), "one thread vs two");
    }
    for (a, b) in full_loss.iter().zip(&one_loss) {
        assert!((a - b).abs() < 1e-9);
    }
    assert_eq!(one_loss, two_loss);
}

#[test]
fn replicas_from_another_spec_are_refused() {
    if threads() < 2 {
        return; // one core: no replica is ever built, every shard runs on the caller's flow.
    }
    let flow = spec(1).build();
    // Another seed: the same architecture and parameter shapes, other permutations and
    // rotations, so the buffer check is the only thing that can fail.
    let dp = replicas(&spec(2), &flow, 2);
    let data = data();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Retry while another test holds the compute team (the shards then run serially).
        for _ in 0..200 {
            let mut t = Trainer::new(&flow, TrainConfig::new(1).with_batch_size(40));
            train_nll_sharded(&mut t, &data, 40, &dp).expect("finite");
        }
    }));
    assert!(result.is_err(), "a replica with other buffers must panic");
}
