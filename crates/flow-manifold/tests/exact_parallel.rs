//! The parallel exact manifold likelihood ([`SharedFlow::exact_log_prob`]) is bit-identical at
//! 1 and 2 threads and equals the serial [`exact_log_prob`] of the original model, chunk by
//! chunk with the same tangent-basis generators (arXiv:2312.09852 §3).

use flow_core::parallel::{chunk_ranges, chunk_rng, with_threads};
use flow_core::{DType, Tensor};
use flow_freeform::ResNetConfig;
use flow_manifold::{BaseSpec, DetFix, ManifoldSpec, ModelSpec, SharedFlow, Side, exact_log_prob};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn spec(manifold: ManifoldSpec, m: usize, base: BaseSpec, seed: u64) -> ModelSpec {
    ModelSpec {
        manifold,
        net: ResNetConfig::new(m, m, &[16], 2),
        base,
        dtype: DType::F64,
        seed,
    }
}

#[test]
fn parallel_exact_log_prob_is_thread_count_invariant_and_matches_serial() {
    let cases = [
        (
            ManifoldSpec::Sphere { n: 2 },
            3,
            BaseSpec::VmfMixture { modes: 3 },
        ),
        (ManifoldSpec::Torus { k: 2 }, 4, BaseSpec::Uniform),
        (
            ManifoldSpec::SpecialOrthogonal {
                det_fix: DetFix::LastColumn,
            },
            9,
            BaseSpec::Uniform,
        ),
        (
            ManifoldSpec::PoincareBall { n: 2 },
            2,
            BaseSpec::WrappedNormal { scale: 0.7 },
        ),
    ];
    let (n, chunk, seed) = (29, 6, 11);
    for (manifold, m, base) in cases {
        let model = spec(manifold, m, base, 3).build().unwrap();
        // The snapshot must carry every parameter (the learnable base included): the spec
        // given to SharedFlow has another initialisation seed.
        let shared = SharedFlow::new(&model, &spec(manifold, m, base, 99));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let x = model.base().sample(n, DType::F64, &mut rng);
        let values = x.to_vec_f64();
        for side in [Side::Decoder, Side::Encoder] {
            let run = |threads| {
                with_threads(threads, || {
                    let x = Tensor::from_vec(values.clone(), &[n, m]);
                    let e = shared.exact_log_prob(&x, side, chunk, seed);
                    (
                        e.log_prob.to_vec_f64(),
                        e.log_prob_latent.to_vec_f64(),
                        e.log_volume.to_vec_f64(),
                        e.reconstruction.to_vec_f64(),
                    )
                })
            };
            let one = run(1);
            assert_eq!(one, run(2), "{manifold:?} {side:?}: 1 and 2 threads differ");
            assert_eq!(one.0.len(), n);
            let mut want = Vec::new();
            for (k, r) in chunk_ranges(n, chunk).enumerate() {
                let xk = x.index_select(0, &r.collect::<Vec<_>>());
                let e = exact_log_prob(&model, &xk, side, chunk, &mut chunk_rng(seed, k));
                want.extend(e.log_prob.to_vec_f64());
            }
            for (i, (a, b)) in one.0.iter().zip(&want).enumerate() {
                assert!(
                    a.is_finite() && (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                    "{manifold:?} {side:?} row {i}: parallel {a} vs serial {b}"
                );
            }
        }
    }
}

#[test]
#[should_panic(expected = "SharedFlow")]
fn a_spec_that_does_not_describe_the_model_panics() {
    let model = spec(ManifoldSpec::Sphere { n: 2 }, 3, BaseSpec::Uniform, 0)
        .build()
        .unwrap();
    let wider = ModelSpec {
        net: ResNetConfig::new(3, 3, &[8], 2),
        ..spec(ManifoldSpec::Sphere { n: 2 }, 3, BaseSpec::Uniform, 0)
    };
    let _ = SharedFlow::new(&model, &wider);
}
