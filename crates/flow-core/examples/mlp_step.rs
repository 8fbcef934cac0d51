//! The MLP / autoencoder / free-form training steps of `cargo bench -p flow-bench --bench core`
//! in a plain loop, for profilers (`perf record`) and quick before/after checks:
//!
//! `cargo run --release -p flow-core --example mlp_step -- [mlp|ae|fff|hvp] [steps]`
//!
//! Prints the median and minimum step time over blocks of 20 steps.

use flow_core::nn::{Activation, Mlp, MlpConfig, Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::{DType, Tensor, grad, hvp, jvp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::time::Instant;

fn mlp(prefix: &str, rng: &mut Xoshiro256PlusPlus) -> Mlp {
    MlpConfig::new(8, &[256, 256], 8)
        .with_activation(Activation::Silu)
        .build(prefix, DType::F32, rng)
}

fn step(params: &[Param], opt: &mut Adam, loss: Tensor) {
    let leaves = values(params);
    let grads = grad(&loss, &leaves.iter().collect::<Vec<_>>());
    opt.step(params, &grads);
}

/// The free-form-flow loss (Draxler et al., arXiv:2310.16624, eq. 9) with β = 10.
fn free_form_loss(enc: &Mlp, dec: &Mlp, x: &Tensor, v: &Tensor) -> Tensor {
    let xr = x.requires_grad();
    let z = enc.forward(&xr);
    let (x_hat, jg_v) = jvp(|z| dec.forward(z), &z, v);
    let vt_jf = vjp_with_graph(&z, &[&xr], v).remove(0);
    let surrogate = vt_jf.mul(&jg_v.detach()).sum_axis(1, false);
    let nll = z
        .square()
        .sum_axis(1, false)
        .mul_scalar(0.5)
        .sub(&surrogate);
    let recon = x_hat.sub(x).square().sum_axis(1, false);
    nll.add(&recon.mul_scalar(10.0)).mean_all()
}

fn main() {
    flow_core::allocator::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "mlp".into());
    let steps: usize = args
        .next()
        .map_or(400, |s| s.parse().expect("steps: an integer"));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (enc, dec) = (mlp("enc", &mut rng), mlp("dec", &mut rng));
    let x = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let v = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let mut both = enc.parameters();
    both.extend(dec.parameters());
    let p_enc = enc.parameters();
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    let mut run = || match which.as_str() {
        "mlp" => step(
            &p_enc,
            &mut opt,
            enc.forward(&x).sub(&x).square().mean_all(),
        ),
        "ae" => step(
            &both,
            &mut opt,
            dec.forward(&enc.forward(&x)).sub(&x).square().mean_all(),
        ),
        "fff" => step(&both, &mut opt, free_form_loss(&enc, &dec, &x, &v)),
        "hvp" => drop(hvp(|x| enc.forward(x).square().sum_all(), &x, &v)),
        other => panic!("unknown workload {other:?} (mlp, ae, fff or hvp)"),
    };
    let mut blocks = Vec::new();
    for _ in 0..steps.div_ceil(20) {
        let t = Instant::now();
        for _ in 0..20 {
            run();
        }
        blocks.push(t.elapsed().as_secs_f64() * 1e3 / 20.0);
    }
    blocks.sort_by(f64::total_cmp);
    println!(
        "{which}: median {:.3} ms, min {:.3} ms per step ({} blocks of 20)",
        blocks[blocks.len() / 2],
        blocks[0],
        blocks.len()
    );
}
