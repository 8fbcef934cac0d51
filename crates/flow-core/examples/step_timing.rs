//! Times the two reference workloads of BENCHMARKS.md without criterion (for profiling):
//! an MLP training step and a free-form-flow step (8→256→256→8, SiLU, batch 512, f32, Adam).
//!
//! `cargo run --release -p flow-core --example step_timing`

use flow_core::nn::{Activation, Mlp, MlpConfig, Module, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::{DType, Tensor, grad, jvp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::time::Instant;

fn mlp(prefix: &str, rng: &mut Xoshiro256PlusPlus) -> Mlp {
    MlpConfig::new(8, &[256, 256], 8)
        .with_activation(Activation::Silu)
        .build(prefix, DType::F32, rng)
}

fn main() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (enc, dec) = (mlp("enc", &mut rng), mlp("dec", &mut rng));
    let x = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let mut params = enc.parameters();
    params.extend(dec.parameters());
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    let time = |name: &str, f: &mut dyn FnMut()| {
        for _ in 0..5 {
            f();
        }
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        println!(
            "{name}: {:.3} ms",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    };
    let p_enc = enc.parameters();
    let mut opt_enc = Adam::new(AdamConfig::new(1e-4));
    time("mlp step", &mut || {
        let loss = enc.forward(&x).sub(&x).square().mean_all();
        let g = grad(&loss, &values(&p_enc).iter().collect::<Vec<_>>());
        opt_enc.step(&p_enc, &g);
    });
    time("autoencoder step", &mut || {
        let z = enc.forward(&x);
        let loss = dec.forward(&z).sub(&x).square().mean_all();
        let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
        opt.step(&params, &g);
    });
    let mut rng2 = Xoshiro256PlusPlus::seed_from_u64(1);
    time("free-form step", &mut || {
        let v = Tensor::randn(&[512, 8], DType::F32, &mut rng2);
        let xr = x.requires_grad();
        let z = enc.forward(&xr);
        let (x_hat, jg_v) = jvp(|z| dec.forward(z), &z, &v);
        let vt_jf = vjp_with_graph(&z, &[&xr], &v).remove(0);
        let surrogate = vt_jf.mul(&jg_v.detach()).sum_axis(1, false);
        let nll = z
            .square()
            .sum_axis(1, false)
            .mul_scalar(0.5)
            .sub(&surrogate);
        let recon = x_hat.sub(&x).square().sum_axis(1, false);
        let loss = nll.add(&recon.mul_scalar(10.0)).mean_all();
        let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
        opt.step(&params, &g);
    });
}
