//! flow-core reference workloads (BENCHMARKS.md), side by side with `peers/jax_steps.py`:
//! MLP 8→256→256→8 with SiLU, batch 512, f32, Adam —
//! (a) a plain training step, (b) an autoencoder step (encoder + decoder),
//! (c) a free-form-flow step on the same encoder/decoder (JVP through the decoder, VJP through
//! the encoder, gradient of surrogate + reconstruction), plus a Hessian-vector product
//! (forward-over-reverse, as JAX's `jvp(grad f)`; and reverse-over-reverse for comparison).
//! Each `*_sharded` row is the same step cut by samples into [`SHARDS`] shards run one per core
//! (`flow_core::train::DataParallel`): the same loss and gradient up to round-off.
//!
//! `cargo bench -p flow-bench --bench core`

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/workloads.rs"]
mod workloads;
use flow_core::nn::{Mlp, Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::train::{DataParallel, Shard};
use flow_core::{DType, Data, Tensor, grad, hvp, hvp_reverse};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use workloads::{SHARDS, enc_dec, free_form_loss, mlp};

fn step(params: &[Param], opt: &mut Adam, loss: Tensor) {
    let leaves = values(params);
    let grads = grad(&loss, &leaves.iter().collect::<Vec<_>>());
    opt.step(params, &grads);
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
    sharded(&mut group, &x, &v);
    group.finish();
}

/// The same workloads as data-parallel steps: the gradients of the shards' losses summed,
/// Adam on the caller's parameters.
fn sharded(
    group: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
    x: &Tensor,
    v: &Tensor,
) {
    let ((enc, dec), both) = enc_dec();
    let p_enc = enc.parameters();
    let (xd, vd): (Data, Data) = (x.data().clone(), v.data().clone());
    let rows = x.dim(0);
    let dp_enc = DataParallel::new(SHARDS, || {
        let ((enc, _), _) = enc_dec();
        let params = enc.parameters();
        (enc, params)
    });
    let dp_both = DataParallel::new(SHARDS, enc_dec);
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("mlp_step_sharded", |b| {
        b.iter(|| {
            let out = dp_enc.grad(&enc, &p_enc, rows, 0, |m: &Mlp, s: &Shard| {
                let xs = s.take(&xd);
                m.forward(&xs).sub(&xs).square().mean_all().into()
            });
            opt.step(&p_enc, &out.grads);
        })
    });
    let model = (enc, dec);
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("autoencoder_step_sharded", |b| {
        b.iter(|| {
            let out = dp_both.grad(&model, &both, rows, 0, |(e, d): &(Mlp, Mlp), s: &Shard| {
                let xs = s.take(&xd);
                d.forward(&e.forward(&xs))
                    .sub(&xs)
                    .square()
                    .mean_all()
                    .into()
            });
            opt.step(&both, &out.grads);
        })
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    group.bench_function("free_form_step_sharded", |b| {
        b.iter(|| {
            let out = dp_both.grad(&model, &both, rows, 0, |(e, d): &(Mlp, Mlp), s: &Shard| {
                free_form_loss(e, d, &s.take(&xd), &s.take(&vd)).into()
            });
            opt.step(&both, &out.grads);
        })
    });
    // The input HVP is per row: each shard's rows of H·v, joined in shard order.
    group.bench_function("hvp_wrt_input_sharded", |b| {
        b.iter(|| {
            let parts = dp_enc.map(&model.0, &p_enc, rows, 0, |m: &Mlp, _, s: &Shard| {
                let f = |x: &Tensor| m.forward(x).square().sum_all();
                hvp(f, &s.take(&xd), &s.take(&vd)).data().clone()
            });
            let parts: Vec<Tensor> = parts.into_iter().map(Tensor::from_data).collect();
            Tensor::concat(&parts.iter().collect::<Vec<_>>(), 0)
        })
    });
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

criterion_group! {
    name = benches;
    config = { flow_core::allocator::keep_freed_memory(); Criterion::default() }.sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = steps
}
criterion_main!(benches);
