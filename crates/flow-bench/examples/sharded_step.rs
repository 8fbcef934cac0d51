//! Loops the sharded free-form-flow step, MLP step or input HVP of the reference MLPs
//! (8→256→256→8, SiLU, batch 512 in two shards of 256, f32) for `perf record`, and prints
//! the median and mean wall time per step, with the Adam update's share for the step:
//!
//! `cargo run --release -p flow-bench --example sharded_step -- [fff|mlp|hvp] [steps]`
//!
//! The models, loss and data are those of `benches/core.rs` (`free_form_step_sharded`,
//! `mlp_step_sharded`, `hvp_wrt_input_sharded`; all include `benches/common/workloads.rs`),
//! whose criterion numbers are the measurements of record; this loop exists so a profile sees
//! one workload, with no criterion machinery around it. The first tenth of the steps (at least 20) is
//! warm-up and not timed.

use std::time::Instant;

use flow_core::nn::Module;
use flow_core::optim::{Adam, AdamConfig, Optimizer};
use flow_core::train::{DataParallel, Shard};
use flow_core::{DType, Data, Tensor, hvp};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[path = "../benches/common/workloads.rs"]
mod workloads;
use workloads::{SHARDS, enc_dec, free_form_loss, mlp};

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "fff".into());
    let steps: usize = args.next().map_or(500, |s| s.parse().expect("steps"));
    // The bench's data: drawn from seed 0 after the two MLPs.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let _ = (mlp("enc", &mut rng), mlp("dec", &mut rng));
    let x = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let v = Tensor::randn(&[512, 8], DType::F32, &mut rng);
    let (xd, vd): (Data, Data) = (x.data().clone(), v.data().clone());
    let ((enc, dec), params) = enc_dec();
    let enc_params = enc.parameters();
    let model = (enc, dec);
    let dp_both = DataParallel::new(SHARDS, enc_dec);
    let dp_enc = DataParallel::new(SHARDS, || {
        let ((enc, _), _) = enc_dec();
        let p = enc.parameters();
        (enc, p)
    });
    let mut opt = Adam::new(AdamConfig::new(1e-4));
    let warm = (steps / 10).max(20);
    let (mut times, mut adam) = (Vec::new(), 0.0);
    for step in 0..warm + steps {
        let t0 = Instant::now();
        let mut t_adam = 0.0;
        match workload.as_str() {
            "fff" => {
                let out = dp_both.grad(&model, &params, 512, 0, |(e, d), s: &Shard| {
                    free_form_loss(e, d, &s.take(&xd), &s.take(&vd)).into()
                });
                let t1 = Instant::now();
                opt.step(&params, &out.grads);
                t_adam = t1.elapsed().as_secs_f64();
            }
            "mlp" => {
                let out = dp_enc.grad(&model.0, &enc_params, 512, 0, |m, s: &Shard| {
                    let xs = s.take(&xd);
                    m.forward(&xs).sub(&xs).square().mean_all().into()
                });
                let t1 = Instant::now();
                opt.step(&enc_params, &out.grads);
                t_adam = t1.elapsed().as_secs_f64();
            }
            "hvp" => {
                let parts = dp_enc.map(&model.0, &enc_params, 512, 0, |m, _, s: &Shard| {
                    let f = |x: &Tensor| m.forward(x).square().sum_all();
                    hvp(f, &s.take(&xd), &s.take(&vd)).data().clone()
                });
                let parts: Vec<Tensor> = parts.into_iter().map(Tensor::from_data).collect();
                std::hint::black_box(Tensor::concat(&parts.iter().collect::<Vec<_>>(), 0));
            }
            other => panic!("unknown workload {other:?} (fff, mlp or hvp)"),
        }
        if step >= warm {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            adam += t_adam * 1e3;
        }
    }
    let mean = times.iter().sum::<f64>() / steps as f64;
    times.sort_by(f64::total_cmp);
    println!(
        "{workload}, sharded, {steps} steps: median {:.3} ms, mean {mean:.3} ms, Adam {:.3} ms",
        times[steps / 2],
        adam / steps as f64
    );
}
