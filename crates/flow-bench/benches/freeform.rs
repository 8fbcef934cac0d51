//! Free-form flow benchmarks (flow-freeform): a training step of FFF versus the same
//! encoder/decoder trained as a plain autoencoder (the FIF abstract's "≈ 2×" claim), for the
//! MLP workload of BENCHMARKS.md (ResNet 8 → 8, one block 256-256, SiLU, batch 512, f32, Adam),
//! an injective 64 → 8 pair, and E(3)-FFF on DW4 (EGNN, 4 blocks, hidden 32, batch 128);
//! plus sampling throughput `x = g(z)` without a tape. JAX peer: `peers/jax_steps.py`.
//! `egnn_dw4_b128_fff_step_sharded` is the E(3)-FFF step cut into two shards run one per core
//! (`flow_core::train::DataParallel`): the same estimator, each shard drawing its own
//! Hutchinson vectors.

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_core::nn::{Module, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::train::{DataParallel, Shard};
use flow_core::{DType, Tensor, grad};
use flow_freeform::{
    EgnnConfig, FffLossConfig, FreeFormFlow, Latent, ResNetConfig, autoencoder_loss, fff_loss,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::hint::black_box;

fn resnet(data: usize, latent: usize, blocks: usize, rng: &mut Xoshiro256PlusPlus) -> FreeFormFlow {
    let cfg = ResNetConfig::new(data, latent, &[256, 256], blocks);
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F32, rng)),
        Box::new(cfg.build_decoder("dec", DType::F32, rng)),
        Latent::standard_normal(latent),
    )
}

fn egnn_dw4(rng: &mut Xoshiro256PlusPlus) -> FreeFormFlow {
    let cfg = EgnnConfig::new(4, 2, 4).with_hidden(32);
    FreeFormFlow::new(
        Box::new(cfg.build("enc", DType::F32, rng)),
        Box::new(cfg.build("dec", DType::F32, rng)),
        Latent::mean_free(4, 2),
    )
}

fn steps(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let workloads = [
        ("resnet8_b512", resnet(8, 8, 1, &mut rng), 512),
        ("fif64to8_b256", resnet(64, 8, 2, &mut rng), 256),
        ("egnn_dw4_b128", egnn_dw4(&mut rng), 128),
    ];
    for (name, model, batch) in &workloads {
        let x = model.latent.sample(*batch, DType::F32, &mut rng);
        let x = if model.is_injective() {
            Tensor::randn(&[*batch, model.data_dim()], DType::F32, &mut rng)
        } else {
            x
        };
        let params = model.parameters();
        let mut opt = Adam::new(AdamConfig::new(1e-5));
        let cfg = FffLossConfig::new(10.0);
        let mut step_rng = Xoshiro256PlusPlus::seed_from_u64(1);
        c.bench_function(&format!("freeform/{name}_fff_step"), |b| {
            b.iter(|| {
                let loss = fff_loss(model, &x, None, &cfg, &mut step_rng).loss;
                let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
                opt.step(&params, black_box(&g));
            })
        });
        c.bench_function(&format!("freeform/{name}_autoencoder_step"), |b| {
            b.iter(|| {
                let loss = autoencoder_loss(model, &x, None, 10.0);
                let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
                opt.step(&params, black_box(&g));
            })
        });
    }
}

/// The E(3)-FFF step as a data-parallel step (two shards, one per core).
fn egnn_sharded(c: &mut Criterion) {
    let build = || {
        let model = egnn_dw4(&mut Xoshiro256PlusPlus::seed_from_u64(7));
        let params = model.parameters();
        (model, params)
    };
    let (model, params) = build();
    let x = model
        .latent
        .sample(128, DType::F32, &mut Xoshiro256PlusPlus::seed_from_u64(8));
    let xd = x.data().clone();
    let dp = DataParallel::new(2, build);
    let mut opt = Adam::new(AdamConfig::new(1e-5));
    let cfg = FffLossConfig::new(10.0);
    c.bench_function("freeform/egnn_dw4_b128_fff_step_sharded", |b| {
        b.iter(|| {
            let out = dp.grad(&model, &params, 128, 1, |m: &FreeFormFlow, s: &Shard| {
                fff_loss(m, &s.take(&xd), None, &cfg, &mut s.rng())
                    .loss
                    .into()
            });
            opt.step(&params, black_box(&out.grads));
        })
    });
}

fn sampling(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let models = [
        ("resnet8", resnet(8, 8, 1, &mut rng)),
        ("egnn_dw4", egnn_dw4(&mut rng)),
    ];
    let mut group = c.benchmark_group("freeform/sample");
    let n = 10_000;
    group.throughput(Throughput::Elements(n as u64));
    for (name, model) in &models {
        group.bench_function(format!("{name}_{n}"), |b| {
            b.iter(|| black_box(model.sample(n, None, &mut rng)))
        });
    }
    group.finish();
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

criterion_group! {
    name = benches;
    config = { flow_core::allocator::keep_freed_memory(); Criterion::default() }.sample_size(20);
    targets = steps, egnn_sharded, sampling
}
criterion_main!(benches);
