//! flow-core reference workloads (BENCHMARKS.md), side by side with `peers/jax_steps.py`:
//! MLP 8→256→256→8 with SiLU, batch 512, f32, Adam —
//! (a) a plain training step, (b) an autoencoder step (encoder + decoder),
//! (c) a free-form-flow step on the same encoder/decoder (JVP through the decoder, VJP through
//! the encoder, gradient of surrogate + reconstruction), plus a Hessian-vector product
//! (forward-over-reverse, as JAX's `jvp(grad f)`; and reverse-over-reverse for comparison).
//!
//! `cargo bench -p flow-bench --bench core`

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use flow_core::nn::{Activation, Mlp, MlpConfig, Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::{DType, Tensor, grad, hvp, hvp_reverse, jvp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

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

/// The free-form-flow loss of Draxler et al. (arXiv:2310.16624, eq. 9) with β = 10, K = 1.
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

fn steps(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (enc, dec) = (mlp("enc", &mut rng), mlp("dec", &mut rng));
    let x = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let v = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let p_enc = enc.parameters();
    let mut both = enc.parameters();
    both.extend(dec.parameters());

    let mut group = c.benchmark_group("mlp-8-256-256-8-b512-f32");
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("mlp_step", |b| {
        b.iter(|| {
            step(
                &p_enc,
                &mut opt,
                enc.forward(&x).sub(&x).square().mean_all(),
            )
        })
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("autoencoder_step", |b| {
        b.iter(|| {
            step(
                &both,
                &mut opt,
                dec.forward(&enc.forward(&x)).sub(&x).square().mean_all(),
            )
        })
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("free_form_step", |b| {
        b.iter(|| step(&both, &mut opt, free_form_loss(&enc, &dec, &x, &v)))
    });
    group.bench_function("hvp_wrt_input", |b| {
        b.iter(|| hvp(|x| enc.forward(x).square().sum_all(), &x, &v))
    });
    // The same product by reverse-over-reverse (the oracle; what `hvp` was before session 8).
    group.bench_function("hvp_wrt_input_reverse", |b| {
        b.iter(|| hvp_reverse(|x| enc.forward(x).square().sum_all(), &x, &v))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = { flow_core::allocator::keep_freed_memory(); Criterion::default() }.sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = steps
}
criterion_main!(benches);
