//! Training-step benchmarks of coupling flows (flow-coupling): RealNVP (8 affine blocks) and
//! NSF (4 RQ-spline blocks, 8 bins, LU mixing), subnets [64, 64] ReLU, f32, batch 512, in
//! 2-D and 8-D. One step = NLL forward, reverse pass over all parameters, clipping, Adam.
//! The JAX peer is `peers/flowjax_coupling.py` (same shapes); see BENCHMARKS.md.
//! The `*_sharded` rows run the same step cut by samples into [`SHARDS`] shards, one per core
//! (`flow_core::train::DataParallel`): the same loss and gradient up to round-off.
//! `coupling/rq_spline_*` time one spline layer of the NSF 8-D step alone (forward and
//! backward, `[2048, 23]` raw parameters): the fused kernels against the composition that
//! defines them.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use flow_core::nn::{Module, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, clip_grad_norm};
use flow_core::train::{DataParallel, Shard};
use flow_core::{DType, Data, Tensor, grad};
use flow_coupling::rq_spline::SplineShape;
use flow_coupling::{Flow, NsfConfig, RealNvpConfig, SplineConfig};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::hint::black_box;

const BATCH: usize = 512;
/// Shards of the `*_sharded` rows: one per core of the project machine (fixed, not the
/// thread count, so the numbers do not depend on it).
const SHARDS: usize = 2;

fn realnvp(dim: usize, rng: &mut Xoshiro256PlusPlus) -> Flow {
    RealNvpConfig::new(dim)
        .with_blocks(8)
        .with_hidden(&[64, 64])
        .build(DType::F32, rng)
}

fn nsf(dim: usize, rng: &mut Xoshiro256PlusPlus) -> Flow {
    NsfConfig::new(dim)
        .with_blocks(4)
        .with_hidden(&[64, 64])
        .with_spline(SplineConfig::new(8, 4.0))
        .build(DType::F32, rng)
}

fn training_step(c: &mut Criterion) {
    type Build = fn(usize, &mut Xoshiro256PlusPlus) -> Flow;
    let models: [(&str, Build); 2] = [("realnvp", realnvp), ("nsf", nsf)];
    for (name, build) in models {
        for dim in [2usize, 8] {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
            let flow = build(dim, &mut rng);
            let x = Tensor::randn(&[BATCH, dim], DType::F32, &mut rng).mul_scalar(1.5);
            flow.initialize(&x, None);
            let params = flow.parameters();
            let mut opt = Adam::new(AdamConfig::new(1e-4));
            sharded(c, name, build, dim);
            c.bench_function(
                &format!("coupling/{name}_{dim}d_train_step_b{BATCH}"),
                |b| {
                    b.iter(|| {
                        let loss = flow.log_prob(&x, None).mean_all().neg();
                        let vals = values(&params);
                        let grads = grad(&loss, &vals.iter().collect::<Vec<_>>());
                        let (grads, _) = clip_grad_norm(&grads, 10.0);
                        opt.step(&params, &grads);
                        black_box(loss.item())
                    })
                },
            );
        }
    }
}

/// The same step as a data-parallel one: shard gradients summed, clipping and Adam on the
/// caller's parameters. The replicas are built and initialised as the caller's flow is.
fn sharded(
    c: &mut Criterion,
    name: &str,
    build: fn(usize, &mut Xoshiro256PlusPlus) -> Flow,
    dim: usize,
) {
    let make = move || {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let flow = build(dim, &mut rng);
        let x = Tensor::randn(&[BATCH, dim], DType::F32, &mut rng).mul_scalar(1.5);
        flow.initialize(&x, None);
        let params = flow.parameters();
        (flow, params, x)
    };
    let (flow, params, x) = make();
    let xd: Data = x.data().clone();
    let dp = DataParallel::new(SHARDS, move || {
        let (flow, params, _) = make();
        (flow, params)
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    c.bench_function(
        &format!("coupling/{name}_{dim}d_train_step_b{BATCH}_sharded"),
        |b| {
            b.iter(|| {
                let out = dp.grad(&flow, &params, BATCH, 0, |f: &Flow, s: &Shard| {
                    f.log_prob(&s.take(&xd), None).mean_all().neg().into()
                });
                let (grads, _) = clip_grad_norm(&out.grads, 10.0);
                opt.step(&params, &grads);
                black_box(out.loss)
            })
        },
    );
}

/// One spline layer forward and backward: 512 rows × 4 transformed features, 8 bins.
fn spline_layer(c: &mut Criterion) {
    let shape = SplineShape {
        bins: 8,
        bound: 4.0,
        min_bin: 1e-3,
        min_derivative: 1e-3,
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let x = Tensor::randn(&[2048], DType::F32, &mut rng)
        .mul_scalar(2.0)
        .requires_grad();
    let raw = Tensor::randn(&[2048, shape.params_per_dim()], DType::F32, &mut rng).requires_grad();
    type Spline = fn(&SplineShape, &Tensor, &Tensor) -> (Tensor, Tensor);
    let fused: Spline = |s, x, raw| s.forward(x, raw);
    let composed: Spline = |s, x, raw| s.composed(x, raw, false);
    for (name, spline) in [("fused", fused), ("composed", composed)] {
        c.bench_function(&format!("coupling/rq_spline_{name}_fwd_bwd_2048x23"), |b| {
            b.iter(|| {
                let (y, logd) = spline(&shape, &x, &raw);
                let g = grad(&y.sum_all().add(&logd.sum_all()), &[&x, &raw]);
                black_box(g)
            })
        });
    }
}

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

criterion_group! {
    name = benches;
    config = { flow_core::allocator::keep_freed_memory(); Criterion::default() }.sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = training_step, spline_layer
}
criterion_main!(benches);
