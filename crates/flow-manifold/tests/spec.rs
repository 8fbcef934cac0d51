//! Save/load of M-FFF models: the rebuilt model has the same exact log-density; corrupt,
//! mismatched or inconsistent files give typed errors.

use flow_core::DType;
use flow_core::distributions::Density;
use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::Module;
use flow_core::train::TrainConfig;
use flow_freeform::ResNetConfig;
use flow_manifold::{
    BaseSpec, DetFix, ManifoldSpec, MfffLossConfig, ModelSpec, load_model, save_model, train_mfff,
};
use rand::SeedableRng;

fn spec(manifold: ManifoldSpec, m: usize, base: BaseSpec) -> ModelSpec {
    ModelSpec {
        manifold,
        net: ResNetConfig::new(m, m, &[8], 1),
        base,
        dtype: DType::F64,
        seed: 3,
    }
}

#[test]
fn trained_models_round_trip_with_the_same_log_prob() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        spec(
            ManifoldSpec::Sphere { n: 2 },
            3,
            BaseSpec::VmfMixture { modes: 2 },
        ),
        spec(ManifoldSpec::Torus { k: 2 }, 4, BaseSpec::Uniform),
        spec(
            ManifoldSpec::SpecialOrthogonal {
                det_fix: DetFix::LastColumn,
            },
            9,
            BaseSpec::Uniform,
        ),
        spec(
            ManifoldSpec::PoincareBall { n: 2 },
            2,
            BaseSpec::WrappedNormal { scale: 0.5 },
        ),
    ];
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(9);
    for (i, s) in cases.iter().enumerate() {
        let model = s.build().unwrap();
        // A few training steps move every parameter (the vMF base's included) off its
        // initialisation, so the reload cannot pass by rebuilding from the seed alone.
        let data = model.sample(64, DType::F64, &mut rng);
        train_mfff(
            &model,
            &data,
            None,
            16,
            &MfffLossConfig::new(10.0).with_beta_p(1.0),
            TrainConfig::new(5, 1e-2),
        )
        .unwrap();
        let fresh = s.build().unwrap();
        let moved = model
            .parameters()
            .iter()
            .zip(fresh.parameters())
            .any(|(a, b)| a.get().to_vec_f64() != b.get().to_vec_f64());
        assert!(moved, "case {i}: training changed nothing");
        let path = dir.path().join(format!("m{i}.safetensors"));
        save_model(&model, s, &path).unwrap();
        let (loaded, back) = load_model(&path).unwrap();
        assert_eq!(&back, s);
        let x = model.sample(16, DType::F64, &mut rng);
        assert_eq!(
            loaded.log_prob(&x, None).to_vec_f64(),
            model.log_prob(&x, None).to_vec_f64(),
            "case {i}"
        );
        assert!(model.log_prob(&x, None).all_finite());
        assert_eq!(loaded.manifold().name(), model.manifold().name());
    }
}

#[test]
fn bad_files_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(ManifoldSpec::Sphere { n: 2 }, 3, BaseSpec::Uniform);
    let model = s.build().unwrap();
    let path = dir.path().join("good.safetensors");
    save_model(&model, &s, &path).unwrap();
    // Truncated bytes.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        load_model(&cut),
        Err(CheckpointError::Format { .. })
    ));
    // Missing file.
    assert!(matches!(
        load_model(dir.path().join("absent.safetensors")),
        Err(CheckpointError::Io { .. })
    ));
    // Weights of another architecture than the stored spec.
    let mut wide = s.clone();
    wide.net.hidden = vec![16];
    let mismatched = dir.path().join("mismatched.safetensors");
    save_model(&model, &wide, &mismatched).unwrap();
    assert!(matches!(
        load_model(&mismatched),
        Err(CheckpointError::ShapeMismatch { .. })
    ));
    // A spec that cannot build a model: vMF base on a torus.
    let mut ck = Checkpoint::from_params(&model.parameters());
    let bad = spec(
        ManifoldSpec::Torus { k: 2 },
        4,
        BaseSpec::VmfMixture { modes: 2 },
    );
    assert!(bad.build().is_err());
    ck.set_config("mfff-model", &bad);
    let inconsistent = dir.path().join("inconsistent.safetensors");
    ck.save(&inconsistent).unwrap();
    match load_model(&inconsistent) {
        Err(CheckpointError::Metadata { key, message }) => {
            assert_eq!(key, "mfff-model");
            assert!(message.contains("vMF"), "{message}");
        }
        other => panic!("expected a metadata error, got {other:?}"),
    }
    // No spec at all (a plain training checkpoint).
    let plain = dir.path().join("plain.safetensors");
    Checkpoint::from_params(&model.parameters())
        .save(&plain)
        .unwrap();
    assert!(matches!(
        load_model(&plain),
        Err(CheckpointError::Metadata { .. })
    ));
}
