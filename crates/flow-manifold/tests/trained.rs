//! `load_trained`: a training checkpoint's best parameters evaluate without training, exactly
//! as the model the run ended with; another architecture is refused with a typed error.

use flow_core::DType;
use flow_core::io::CheckpointError;
use flow_core::nn::Module;
use flow_core::train::TrainConfig;
use flow_freeform::ResNetConfig;
use flow_manifold::{
    BaseSpec, ManifoldSpec, MfffLossConfig, ModelSpec, Side, exact_log_prob, load_trained,
    train_mfff,
};
use rand::SeedableRng;

fn spec(hidden: &[usize], blocks: usize, seed: u64) -> ModelSpec {
    ModelSpec {
        manifold: ManifoldSpec::Sphere { n: 2 },
        net: ResNetConfig::new(3, 3, hidden, blocks),
        base: BaseSpec::VmfMixture { modes: 2 },
        dtype: DType::F64,
        seed,
    }
}

#[test]
fn a_checkpoint_evaluates_as_the_model_its_run_ended_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let trained = spec(&[8], 1, 3).build().unwrap();
    let data = trained.sample(64, DType::F64, &mut rng);
    let val = trained.sample(16, DType::F64, &mut rng);
    let config = TrainConfig::new(9, 1e-2)
        .with_checkpoint(&path, 3)
        .with_validation(3, None);
    let report = train_mfff(
        &trained,
        &data,
        Some(&val),
        16,
        &MfffLossConfig::new(10.0),
        config,
    )
    .unwrap();
    // A model built with another seed gets the run's best parameters.
    let fresh = spec(&[8], 1, 77).build().unwrap();
    let info = load_trained(&fresh, &path).unwrap();
    assert_eq!((info.step, info.of, info.best), (9, Some(9), report.best));
    assert!(info.finished());
    for (a, b) in trained.parameters().iter().zip(fresh.parameters()) {
        assert_eq!(a.get().to_vec_f64(), b.get().to_vec_f64(), "{}", a.name());
    }
    let lp = |m| {
        exact_log_prob(
            m,
            &val,
            Side::Decoder,
            8,
            &mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5),
        )
    };
    assert_eq!(
        lp(&trained).log_prob.to_vec_f64(),
        lp(&fresh).log_prob.to_vec_f64()
    );
}

#[test]
fn another_architecture_is_refused_and_leaves_the_model_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let trained = spec(&[8], 2, 3).build().unwrap();
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let data = trained.sample(32, DType::F64, &mut rng);
    let config = TrainConfig::new(2, 1e-2).with_checkpoint(&path, 1);
    train_mfff(&trained, &data, None, 8, &MfffLossConfig::new(10.0), config).unwrap();
    let untouched = |m: &flow_manifold::ManifoldFlow, r: Result<_, CheckpointError>| {
        let before: Vec<Vec<f64>> = m
            .parameters()
            .iter()
            .map(|p| p.get().to_vec_f64())
            .collect();
        let e = r.unwrap_err();
        let after: Vec<Vec<f64>> = m
            .parameters()
            .iter()
            .map(|p| p.get().to_vec_f64())
            .collect();
        assert_eq!(before, after);
        e
    };
    let wider = spec(&[16], 2, 3).build().unwrap();
    let e = untouched(&wider, load_trained(&wider, &path));
    assert!(matches!(e, CheckpointError::ShapeMismatch { .. }), "{e}");
    let deeper = spec(&[8], 3, 3).build().unwrap();
    let e = untouched(&deeper, load_trained(&deeper, &path));
    assert!(matches!(e, CheckpointError::Missing { .. }), "{e}");
    let shallower = spec(&[8], 1, 3).build().unwrap();
    let e = untouched(&shallower, load_trained(&shallower, &path));
    assert!(e.to_string().contains("no parameter of the model"), "{e}");
    // Without validation the last parameters are loaded.
    let same = spec(&[8], 2, 4).build().unwrap();
    let info = load_trained(&same, &path).unwrap();
    assert_eq!((info.step, info.best), (2, None));
}
