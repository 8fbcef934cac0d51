//! Wall time of the exact manifold likelihood at 1 and 2 `flow_core::parallel` threads
//! ([`SharedFlow::exact_log_prob`]), on the Earth-size model (S², 4×[256, 256] sin, vMF base)
//! and the quick SO(3) model (R⁹, 2×[64, 64] SiLU); also checks that both thread counts give
//! the same numbers. Run: `cargo run --release -p flow-manifold --example exact_parallel_speed
//! [points] [chunk]`. Timings depend on the machine's load; say so when you report them.

use std::time::Instant;

use flow_core::nn::Activation;
use flow_core::parallel::with_threads;
use flow_core::{DType, Tensor};
use flow_freeform::ResNetConfig;
use flow_manifold::{BaseSpec, ManifoldSpec, ModelSpec, SharedFlow, Side};
use rand::SeedableRng;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let n = args.next().and_then(Result::ok).unwrap_or(2048);
    let chunk = args.next().and_then(Result::ok).unwrap_or(128);
    let cases = [
        (
            "S² Earth-size",
            ModelSpec {
                manifold: ManifoldSpec::Sphere { n: 2 },
                net: ResNetConfig::new(3, 3, &[256, 256], 4).with_activation(Activation::Sin),
                base: BaseSpec::VmfMixture { modes: 5 },
                dtype: DType::F64,
                seed: 0,
            },
        ),
        (
            "SO(3) quick",
            ModelSpec {
                manifold: ManifoldSpec::SpecialOrthogonal {
                    det_fix: Default::default(),
                },
                net: ResNetConfig::new(9, 9, &[64, 64], 2).with_activation(Activation::Silu),
                base: BaseSpec::Uniform,
                dtype: DType::F64,
                seed: 0,
            },
        ),
    ];
    for (name, spec) in cases {
        let model = spec.build().expect("valid spec");
        let shared = SharedFlow::new(&model, &spec);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        let values = model.base().sample(n, DType::F64, &mut rng).to_vec_f64();
        let m = values.len() / n;
        let time = |threads: usize| {
            with_threads(threads, || {
                let x = Tensor::from_vec(values.clone(), &[n, m]);
                let t = Instant::now();
                let e = shared.exact_log_prob(&x, Side::Decoder, chunk, 7);
                (t.elapsed().as_secs_f64(), e.log_prob.to_vec_f64())
            })
        };
        let (t1, a) = time(1);
        let (t2, b) = time(2);
        assert_eq!(a, b, "{name}: 1 and 2 threads differ");
        println!(
            "{name}: {n} points, chunk {chunk}: 1 thread {t1:.2} s, 2 threads {t2:.2} s, speed-up {:.2}× (identical: {})",
            t1 / t2,
            a == b
        );
    }
}
