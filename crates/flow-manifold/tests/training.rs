//! A short M-FFF training run learns a concentrated density on S².

use flow_core::DType;
use flow_core::optim::Schedule;
use flow_core::train::TrainConfig;
use flow_freeform::ResNetConfig;
use flow_manifold::{
    Manifold, ManifoldDensity, ManifoldFlow, MfffLossConfig, Side, Sphere, Uniform, VmfMixture,
    exact_log_prob, train_mfff,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::rc::Rc;

#[test]
fn mfff_learns_a_vmf_on_s2() {
    // Target vMF(κ = 10): entropy = −log C₃(10) − κ A₃(10) ≈ 0.53 + ... well below the uniform
    // log 4π = 2.531. After 400 steps the exact test NLL must be at least 1 nat below
    // uniform (the flow moved most of the way), and the model must stay invertible.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let target = VmfMixture::new("t", &[vec![0.0, 0.6, 0.8]], &[10.0], &[1.0], DType::F64);
    let train = target.sample(4000, DType::F64, &mut rng);
    let test = target.sample(500, DType::F64, &mut rng);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let net = ResNetConfig::new(3, 3, &[32, 32], 2);
    let flow = ManifoldFlow::new(
        s2.clone(),
        Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
        Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
        Box::new(Uniform::new(s2)),
    );
    let loss = MfffLossConfig::new(100.0).with_beta_u(10.0);
    let config = TrainConfig::new(400, 3e-3)
        .with_schedule(Schedule::one_cycle(400))
        .with_clip_grad_norm(10.0);
    train_mfff(&flow, &train, None, 64, &loss, config).expect("finite training");
    let e = exact_log_prob(&flow, &test, Side::Decoder, 512, &mut rng);
    let entropy = -target.log_prob(&test).mean_all().item();
    let nll = e.mean_nll();
    eprintln!(
        "test NLL {nll:.4}, entropy {entropy:.4}, reconstruction {:.2e}",
        e.mean_reconstruction()
    );
    assert!(
        nll < (4.0 * std::f64::consts::PI).ln() - 1.0,
        "NLL {nll}, entropy {entropy}"
    );
    assert!(
        nll > entropy - 0.1,
        "NLL {nll} below the entropy {entropy}: not a density"
    );
    assert!(
        e.mean_reconstruction() < 0.01,
        "reconstruction {}",
        e.mean_reconstruction()
    );
}

/// A run stopped at step 6 (its checkpoint on disk) and continued by a freshly built model
/// from the path alone ends bit-identical to an uninterrupted 12-step run: parameters and
/// every curve (the engine's per-step streams, Adam state and curves all come back).
#[test]
fn a_stopped_run_resumes_bit_identically() {
    use flow_core::nn::Module;
    use flow_core::train::TrainConfig;
    use flow_freeform::ResNetConfig;
    use flow_manifold::{Manifold, ManifoldFlow, MfffLossConfig, Sphere, Uniform, train_mfff};
    use rand::SeedableRng;
    use std::rc::Rc;
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let build = |seed: u64| {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let net = ResNetConfig::new(3, 3, &[8], 1);
        ManifoldFlow::new(
            s2.clone(),
            Box::new(net.build_encoder("enc", flow_core::DType::F64, &mut rng)),
            Box::new(net.build_decoder("dec", flow_core::DType::F64, &mut rng)),
            Box::new(Uniform::new(s2.clone())),
        )
    };
    let data = s2.sample_uniform(
        64,
        flow_core::DType::F64,
        &mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1),
    );
    let loss = MfffLossConfig::new(10.0);
    let dir = tempfile::tempdir().unwrap();
    let config = |steps: u64, name: &str| {
        TrainConfig::new(steps, 1e-3)
            .with_seed(4)
            .with_checkpoint(dir.path().join(name), 3)
    };
    let whole = build(2);
    let a = train_mfff(&whole, &data, None, 16, &loss, config(12, "a.safetensors")).unwrap();
    let first = build(2);
    train_mfff(&first, &data, None, 16, &loss, config(6, "b.safetensors")).unwrap();
    let second = build(3); // another initialisation: everything comes from the checkpoint
    let b = train_mfff(&second, &data, None, 16, &loss, config(12, "b.safetensors")).unwrap();
    assert_eq!(b.resumed_from, Some(6));
    assert_eq!(a.curves, b.curves);
    let flat = |m: &ManifoldFlow| -> Vec<f64> {
        m.parameters()
            .iter()
            .flat_map(|p| p.get().to_vec_f64())
            .collect()
    };
    assert_eq!(flat(&whole), flat(&second));
}
