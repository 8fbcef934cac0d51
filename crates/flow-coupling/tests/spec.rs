//! Self-describing checkpoints: a flow saved with its spec is rebuilt from the path alone
//! with bit-identical log-densities and samples; tampered or mismatched files give typed
//! errors naming the field.

mod common;

use common::perturb;
use flow_core::distributions::BaseConfig;
use flow_core::io::Checkpoint;
use flow_core::{DType, Tensor};
use flow_coupling::{
    FlowConfig, GlowConfig, Mixing, ModelSpec, NsfConfig, RealNvpConfig, load_model, save_model,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn specs() -> Vec<ModelSpec> {
    let spec = |flow, base| ModelSpec {
        flow,
        base,
        dtype: DType::F64,
        seed: 11,
    };
    vec![
        spec(
            FlowConfig::RealNvp(RealNvpConfig::new(3)),
            BaseConfig::StandardNormal,
        ),
        spec(
            FlowConfig::Glow(GlowConfig::new(4)),
            BaseConfig::DiagonalNormal,
        ),
        spec(
            FlowConfig::Nsf(NsfConfig::new(2)),
            BaseConfig::GaussianMixture { components: 2 },
        ),
    ]
}

#[test]
fn a_saved_model_is_rebuilt_from_its_path_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (i, spec) in specs().into_iter().enumerate() {
        let flow = spec.build();
        perturb(&flow, 0.1, &mut Xoshiro256PlusPlus::seed_from_u64(i as u64));
        let path = dir.path().join(format!("m{i}.safetensors"));
        save_model(&flow, &spec, &path).unwrap();
        let (loaded, back) = load_model(&path).unwrap();
        assert_eq!(back, spec);
        let d = flow_coupling::Bijection::dim(&flow);
        let x = Tensor::randn(
            &[8, d],
            DType::F64,
            &mut Xoshiro256PlusPlus::seed_from_u64(5),
        );
        assert_eq!(
            loaded.log_prob(&x, None).to_vec_f64(),
            flow.log_prob(&x, None).to_vec_f64()
        );
        let s1 = flow.sample(4, None, &mut Xoshiro256PlusPlus::seed_from_u64(6));
        let s2 = loaded.sample(4, None, &mut Xoshiro256PlusPlus::seed_from_u64(6));
        assert_eq!(s1.to_vec_f64(), s2.to_vec_f64());
    }
}

#[test]
fn tampered_or_mismatched_files_give_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let spec = specs().remove(0);
    let flow = spec.build();
    let path = dir.path().join("m.safetensors");
    save_model(&flow, &spec, &path).unwrap();
    let good = Checkpoint::load(&path).unwrap();
    let err_with = |edit: &dyn Fn(&mut Checkpoint)| {
        let mut ck = good.clone();
        edit(&mut ck);
        ck.save(&path).unwrap();
        load_model(&path).err().expect("must fail").to_string()
    };
    let no_seed = err_with(&|ck| {
        let json = ck
            .metadata("model")
            .unwrap()
            .replace("\"seed\":11", "\"sed\":11");
        ck.set_metadata("model", json);
    });
    assert!(no_seed.contains("missing field `seed`"), "{no_seed}");
    let version = err_with(&|ck| ck.set_metadata("flows.format", "2"));
    assert!(version.contains("flows.format"), "{version}");
    let bad_base = err_with(&|ck| {
        let json = ck.metadata("model").unwrap().replace(
            "\"kind\":\"standard-normal\"",
            "\"kind\":\"student-t\",\"df\":-1.0",
        );
        ck.set_metadata("model", json);
    });
    assert!(bad_base.contains("df"), "{bad_base}");
    // Weights saved with a spec of another seed: the rebuilt flow's permutations differ.
    let spec = ModelSpec {
        flow: FlowConfig::RealNvp(RealNvpConfig::new(3).with_mixing(Mixing::RandomPermutation)),
        ..spec
    };
    save_model(&spec.build(), &spec, &path).unwrap();
    let good = Checkpoint::load(&path).unwrap();
    let other = ModelSpec {
        seed: 12,
        ..spec.clone()
    };
    let mut ck = good.clone();
    ck.set_config("model", &other);
    ck.save(&path).unwrap();
    let mismatch = load_model(&path).err().expect("buffers differ").to_string();
    assert!(mismatch.contains("buffer."), "{mismatch}");
}
