//! The parallel exact likelihood ([`SharedModel::exact_log_prob`]) is bit-identical at 1 and
//! 2 threads and equals the serial [`exact_log_prob`] (FFF arXiv:2310.16624 §4.1).

use flow_core::parallel::with_threads;
use flow_core::{DType, Tensor};
use flow_freeform::{
    JacobianSide, Latent, ModelSpec, NetConfig, ResNetConfig, SharedModel, exact_log_prob,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn spec() -> ModelSpec {
    ModelSpec {
        net: NetConfig::ResNet(ResNetConfig::new(3, 3, &[16], 1)),
        latent: Latent::standard_normal(3),
        dtype: DType::F64,
        seed: 4,
    }
}

#[test]
fn parallel_exact_nll_matches_serial_at_one_and_two_threads() {
    let (spec, n) = (spec(), 37);
    let shared = SharedModel::new(&spec.build(), &spec);
    for side in [JacobianSide::Decoder, JacobianSide::Encoder] {
        let run = |threads| {
            with_threads(threads, || {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
                let x = Tensor::randn(&[n, 3], DType::F64, &mut rng);
                let e = shared.exact_log_prob(&x, None, side, 8);
                let z = e.z.to_vec_f64();
                (
                    e.log_prob.to_vec_f64(),
                    e.log_volume.to_vec_f64(),
                    e.reconstruction.to_vec_f64(),
                    z,
                )
            })
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(one, two, "{side:?}: 1 and 2 threads differ");
        // The serial oracle on the original model: the same numbers up to round-off.
        let model = spec.build();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let x = Tensor::randn(&[n, 3], DType::F64, &mut rng);
        let serial = exact_log_prob(&model, &x, None, side, 8);
        let want = serial.log_prob.to_vec_f64();
        assert_eq!(one.0.len(), n);
        for (i, (a, b)) in one.0.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{side:?} row {i}: {a} vs {b}"
            );
        }
        assert_eq!(one.3.len(), n * 3);
        assert!(one.2.iter().all(|r| r.is_finite()));
    }
}
