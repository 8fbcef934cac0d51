//! `fff-step-time`: the cost of an FFF training step against the same encoder/decoder pair
//! trained as a plain autoencoder, and sampling throughput.

use std::time::Instant;

use flow_core::nn::Module;
use flow_core::{DType, Tensor, grad, nn::values};
use flow_freeform::{EgnnConfig, FffLossConfig, FreeFormFlow, Latent, autoencoder_loss, fff_loss};
use serde::{Deserialize, Serialize};

use super::common::{NetPreset, Rng, pick, resnet_model};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;

/// Preset of [`FffStepTime`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedPreset {
    /// Timed steps per workload (after 3 warm-up steps).
    pub steps: usize,
    /// Samples drawn to time sampling throughput.
    pub sample_batch: usize,
}

/// `fff-step-time`: cost of an FFF step relative to an autoencoder step.
pub struct FffStepTime;

/// Median seconds per call of `f` over `n` calls.
fn median_time(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

/// `(FFF step, autoencoder step)` median seconds for one model and batch.
pub fn step_times(model: &FreeFormFlow, x: &Tensor, n: usize, rng: &mut Rng) -> (f64, f64) {
    use flow_core::optim::{Adam, AdamConfig, Optimizer};
    let params = model.parameters();
    let mut opt = Adam::new(AdamConfig::new(1e-5));
    let cfg = FffLossConfig::new(10.0);
    let fff = median_time(n, || {
        let loss = fff_loss(model, x, None, &cfg, rng).loss;
        let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
        opt.step(&params, &g);
    });
    let ae = median_time(n, || {
        let loss = autoencoder_loss(model, x, None, 10.0);
        let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
        opt.step(&params, &g);
    });
    (fff, ae)
}

impl Experiment for FffStepTime {
    fn id(&self) -> &'static str {
        "fff-step-time"
    }
    fn paper(&self) -> PaperId {
        PaperId::InjectiveFlows
    }
    fn measures_time(&self) -> bool {
        true
    }
    fn title(&self) -> &'static str {
        "Cost of a free-form step relative to an autoencoder step"
    }
    fn claim(&self) -> &'static str {
        "Training with the free-form estimator costs roughly 2× a vanilla autoencoder per batch, independent of the latent dimension; sampling is one decoder pass."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&SpeedPreset {
            steps: pick(mode, 3, 30, 100),
            sample_batch: pick(mode, 100, 10_000, 100_000),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: SpeedPreset = ctx.preset()?;
        let mut rng = ctx.rng(40);
        let mlp = NetPreset {
            hidden: vec![256, 256],
            blocks: 1,
            steps: 0,
            batch: 512,
            lr: 0.0,
            beta: 0.0,
        };
        let workloads: Vec<(String, FreeFormFlow, Tensor)> = vec![
            (
                "FFF ResNet 8 → 8 (1 block 256-256), batch 512".into(),
                resnet_model(8, Latent::standard_normal(8), 0, &mlp, &mut rng),
                Tensor::randn(&[512, 8], DType::F32, &mut rng),
            ),
            (
                "FIF ResNet 64 → 4 (2 blocks 256-256), batch 256".into(),
                resnet_model(
                    64,
                    Latent::standard_normal(4),
                    0,
                    &NetPreset {
                        blocks: 2,
                        ..mlp.clone()
                    },
                    &mut rng,
                ),
                Tensor::randn(&[256, 64], DType::F32, &mut rng),
            ),
            (
                "FIF ResNet 64 → 32 (2 blocks 256-256), batch 256".into(),
                resnet_model(
                    64,
                    Latent::standard_normal(32),
                    0,
                    &NetPreset {
                        blocks: 2,
                        ..mlp.clone()
                    },
                    &mut rng,
                ),
                Tensor::randn(&[256, 64], DType::F32, &mut rng),
            ),
            (
                "E(3)-FFF EGNN DW4 (4 blocks, hidden 32), batch 128".into(),
                {
                    let c = EgnnConfig::new(4, 2, 4).with_hidden(32);
                    FreeFormFlow::new(
                        Box::new(c.build("e", DType::F32, &mut rng)),
                        Box::new(c.build("d", DType::F32, &mut rng)),
                        Latent::mean_free(4, 2),
                    )
                },
                Latent::mean_free(4, 2).sample(128, DType::F32, &mut rng),
            ),
        ];
        ctx.set_work(workloads.len() as u64);
        let mut table = Table::new(
            "Median time per training step (loss, gradient, Adam), f32, this machine",
            "workload",
            "ms or ratio",
        );
        for (name, model, x) in &workloads {
            ctx.set_message(name.clone());
            let (fff, ae) = step_times(model, x, p.steps, &mut rng);
            table.push(
                format!("{name}: FFF step (ms)"),
                1e3 * fff,
                "—",
                Verdict::Info,
            );
            table.push(
                format!("{name}: autoencoder step (ms)"),
                1e3 * ae,
                "—",
                Verdict::Info,
            );
            table.push(
                format!("{name}: ratio FFF / autoencoder"),
                fff / ae,
                "≈ 2 (FIF abstract; official toy 1.8–2.0); ≤ 3 here",
                Verdict::check(fff / ae <= 3.0),
            );
            let t = Instant::now();
            let _ = model.sample(p.sample_batch, None, &mut rng);
            table.push(
                format!(
                    "{name}: sampling throughput (samples/s, batch {})",
                    p.sample_batch
                ),
                p.sample_batch as f64 / t.elapsed().as_secs_f64(),
                "—",
                Verdict::Info,
            );
            ctx.step()?;
        }
        Ok(Outcome { tables: vec![table], figures: Vec::new(), notes: vec!["The autoencoder step trains the same encoder/decoder on β‖x − g(f(x))‖² only; the FFF step adds the decoder JVP, the encoder VJP with a recorded graph and its double backward (K = 1). Criterion versions: cargo bench -p flow-bench --bench freeform; JAX peer: peers/jax_steps.py (MLP workload).".into()] })
    }
}
