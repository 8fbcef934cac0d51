//! Wall time of one M-FFF training step on the full SO(3) preset's shape (2 blocks of
//! 5×[512] SiLU in R⁹, batch 1024, βR 500, βU 10, βP 10: `configs/m-fff/so3.yaml`), in f64
//! and f32, and the share of it spent in the βU sample reconstructions (four more network
//! passes and their backward passes). Run:
//! `cargo run --release -p flow-manifold --example so3_step_time [steps] [batch]`.
//! Timings depend on the machine's load; say so when you report them.

use flow_core::DType;
use flow_core::nn::Activation;
use flow_core::train::TrainConfig;
use flow_freeform::ResNetConfig;
use flow_manifold::{
    BaseSpec, LossWeights, ManifoldSpec, MfffLossConfig, ModelSpec, So3Mixture, train_mfff,
};
use rand::SeedableRng;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let steps = args.next().and_then(Result::ok).unwrap_or(3);
    let batch = args.next().and_then(Result::ok).unwrap_or(1024);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let data = So3Mixture::random(16, &mut rng).sample(4 * batch, &mut rng);
    let official = LossWeights::betas(500.0, 10.0, 10.0);
    let no_samples = LossWeights {
        x_sample_reconstruction: 0.0,
        z_sample_reconstruction: 0.0,
        ..official
    };
    for dtype in [DType::F64, DType::F32] {
        for (label, weights) in [("official", official), ("without βU", no_samples)] {
            let spec = ModelSpec {
                manifold: ManifoldSpec::SpecialOrthogonal {
                    det_fix: Default::default(),
                },
                net: ResNetConfig::new(9, 9, &[512; 5], 2).with_activation(Activation::Silu),
                base: BaseSpec::Uniform,
                dtype,
                seed: 0,
            };
            let model = spec.build().expect("valid spec");
            let config = MfffLossConfig::from_weights(weights);
            let train = TrainConfig::new(steps as u64, 1e-4).with_clip_grad_norm(1.0);
            let report = train_mfff(&model, &data.to_dtype(dtype), None, batch, &config, train)
                .expect("finite steps");
            println!(
                "{dtype:?} {label}: batch {batch}, {steps} steps in {:.2} s: {:.3} s per step",
                report.total_seconds,
                report.total_seconds / steps as f64
            );
        }
    }
}
