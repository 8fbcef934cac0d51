//! An f32 model (the official code's precision; the full SO(3) preset trains in it) gives the
//! same exact density and the same loss as its f64 copy, to f32 round-off, through the
//! parallel exact likelihood ([`SharedFlow`]) and one training step.

use flow_core::DType;
use flow_core::nn::Module;
use flow_core::train::TrainConfig;
use flow_freeform::ResNetConfig;
use flow_manifold::{
    BaseSpec, DetFix, ManifoldSpec, MfffLossConfig, ModelSpec, SharedFlow, Side, So3Mixture,
    TangentScale, mfff_loss, train_mfff,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn so3_spec(dtype: DType) -> ModelSpec {
    ModelSpec {
        manifold: ManifoldSpec::SpecialOrthogonal {
            det_fix: DetFix::default(),
        },
        net: ResNetConfig::new(9, 9, &[16], 2),
        base: BaseSpec::Uniform,
        dtype,
        seed: 4,
    }
}

#[test]
fn an_f32_so3_model_matches_its_f64_copy() {
    let (s32, s64) = (so3_spec(DType::F32), so3_spec(DType::F64));
    let (m32, m64) = (s32.build().unwrap(), s64.build().unwrap());
    // The f64 model takes the f32 model's weights exactly.
    for (p32, p64) in m32.parameters().iter().zip(m64.parameters()) {
        assert_eq!(p32.name(), p64.name());
        p64.set(p32.get().to_dtype(DType::F64));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let target = So3Mixture::random(3, &mut rng);
    let x = target.sample(40, &mut rng);
    let x32 = x.to_dtype(DType::F32);
    for side in [Side::Decoder, Side::Encoder] {
        let a = SharedFlow::new(&m32, &s32).exact_log_prob(&x32, side, 16, 7);
        let b = SharedFlow::new(&m64, &s64).exact_log_prob(&x32.to_dtype(DType::F64), side, 16, 7);
        assert_eq!(a.log_prob.dtype(), DType::F64, "accumulated in f64");
        for (u, v) in a.log_prob.to_vec_f64().iter().zip(b.log_prob.to_vec_f64()) {
            // f32 round-off through two 16-wide blocks, a polar projection and a 3×3
            // slogdet: ~1e-6 relative per op; 1e-3 nats is far above it and far below
            // any band of the experiments.
            assert!((u - v).abs() < 1e-3, "{side:?}: f32 {u} vs f64 {v}");
        }
    }
    // One loss evaluation at the same random stream agrees too, and f32 training runs.
    let cfg = MfffLossConfig::new(500.0)
        .with_beta_u(10.0)
        .with_beta_p(10.0)
        .with_scale(TangentScale::Ambient);
    let l32 = mfff_loss(&m32, &x32, &cfg, &mut Xoshiro256PlusPlus::seed_from_u64(3));
    let l64 = mfff_loss(
        &m64,
        &x32.to_dtype(DType::F64),
        &cfg,
        &mut Xoshiro256PlusPlus::seed_from_u64(3),
    );
    let (a, b) = (l32.loss.item(), l64.loss.item());
    assert!(
        (a - b).abs() < 1e-3 * (1.0 + b.abs()),
        "loss f32 {a} vs f64 {b}"
    );
    let report = train_mfff(&m32, &x32, None, 8, &cfg, TrainConfig::new(3, 1e-3)).unwrap();
    assert!(report.curves.loss.iter().all(|l: &f64| l.is_finite()));
}
