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
