//! `fff-sbi-c2st`: simulation-based inference with a conditional FFF, scored by C2ST.

use flow_core::optim::Schedule;
use flow_core::{DType, Tensor};
use flow_data::metrics::{C2stConfig, c2st};
use flow_data::sbi::{SbiTask, TwoMoons};
use flow_freeform::{FffLossConfig, Latent, ResNetConfig, TrainConfig};
use serde::{Deserialize, Serialize};

use super::common::{NetPreset, pick, resnet_pair, scatter, series};
use super::training::train;
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;

/// Preset of [`SbiC2st`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SbiPreset {
    /// Network and training.
    pub net: NetPreset,
    /// Hidden widths of the fully connected front network before the ResNet (official:
    /// `[256, 256]`; empty: none).
    pub front: Vec<usize>,
    /// Simulations.
    pub simulations: usize,
    /// Observations scored.
    pub observations: usize,
    /// Posterior samples per observation.
    pub posterior_samples: usize,
    /// Adam weight decay.
    pub weight_decay: f64,
    /// Largest mean C2ST accepted. Full mode: 0.75, our threshold for "competitive" (the
    /// paper's per-task values were not recovered; its ideal is 0.5). Quick mode: a budget band
    /// for a fifth of the full steps and half the width, stated on the page.
    pub c2st_band: f64,
}

/// The C2ST verdict: the mean over observations lies in `[0.5 − 3 SE, band]` (below chance
/// beyond noise would mean a broken classifier).
pub fn c2st_within_band(scores: &[f64], band: f64) -> (f64, f64, bool) {
    let n = scores.len() as f64;
    let m = scores.iter().sum::<f64>() / n;
    let var = scores.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let se = (var / n).sqrt();
    (m, se, m >= 0.5 - 3.0 * se && m <= band)
}

/// `fff-sbi-c2st`: conditional FFF posterior on sbibm two moons, scored by C2ST.
pub struct SbiC2st;

impl Experiment for SbiC2st {
    fn version(&self) -> u32 {
        4 // 4: judged in quick mode against a budget band; 3: the workspace training engine (per-step random streams); 2: official fully connected front network; resumable training
    }
    fn id(&self) -> &'static str {
        "fff-sbi-c2st"
    }
    fn paper(&self) -> PaperId {
        PaperId::FreeFormFlows
    }
    fn title(&self) -> &'static str {
        "FFF for simulation-based inference (two moons, C2ST)"
    }
    fn claim(&self) -> &'static str {
        "A conditional FFF with off-the-shelf residual networks gives competitive posteriors: C2ST against the reference posterior near the ideal 0.5."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        let net = NetPreset {
            hidden: pick(mode, vec![16], vec![128, 128], vec![256, 256]),
            blocks: 2,
            steps: pick(mode, 10, 3000, 16_000),
            batch: 128,
            lr: 5e-4,
            beta: 25.0,
        };
        preset_value(&SbiPreset {
            front: pick(mode, vec![16], vec![128, 128], vec![256, 256]),
            net,
            simulations: pick(mode, 500, 10_000, 10_000),
            observations: pick(mode, 1, 3, 10),
            posterior_samples: pick(mode, 100, 1000, 10_000),
            weight_decay: 1e-4,
            c2st_band: pick(mode, 1.0, 0.85, 0.75),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: SbiPreset = ctx.preset()?;
        ctx.set_work(1 + p.observations as u64);
        let task = TwoMoons;
        let mut rng = ctx.rng(30);
        let theta = task.sample_prior(p.simulations, &mut rng);
        let x = task.simulate(&theta, &mut rng);
        let d = task.theta_dim();
        let cfg = ResNetConfig::new(d, d, &p.net.hidden, p.net.blocks)
            .with_condition(task.x_dim())
            .with_front(&p.front);
        let model = resnet_pair(cfg, Latent::standard_normal(d), &mut rng);
        let cfg = TrainConfig::new(p.net.steps, p.net.batch, p.net.lr)
            .with_schedule(Schedule::one_cycle(p.net.steps))
            .with_weight_decay(p.weight_decay);
        ctx.set_message("training the conditional FFF");
        let secs = train(
            ctx,
            "posterior",
            &model,
            &theta.to_dtype(DType::F32),
            Some(&x.to_dtype(DType::F32)),
            FffLossConfig::new(p.net.beta),
            cfg,
            &mut rng,
        )?;
        ctx.step()?;
        let mut table = Table::new(
            "C2ST of FFF posterior samples against exact reference samples (0.5 is ideal)",
            "observation",
            "C2ST",
        );
        let mut scores = Vec::new();
        for j in 0..p.observations {
            let x_obs = task
                .simulate(&task.sample_prior(1, &mut rng), &mut rng)
                .to_vec_f64();
            let reference = task
                .sample_posterior(&x_obs, p.posterior_samples, &mut rng)
                .ok_or_else(|| {
                    ExperimentError::Failed("two moons has no reference sampler".into())
                })?;
            let cond = Tensor::from_slice(&x_obs, &[1, x_obs.len()])
                .broadcast_to(&[p.posterior_samples, x_obs.len()])
                .to_dtype(DType::F32);
            let samples = model
                .sample(p.posterior_samples, Some(&cond), &mut rng)
                .to_dtype(DType::F64);
            let score = c2st(
                &samples,
                &reference,
                &C2stConfig {
                    seed: j as u64,
                    ..C2stConfig::default()
                },
            );
            scores.push(score);
            table.push(
                format!("x_obs #{j} = ({:.3}, {:.3})", x_obs[0], x_obs[1]),
                score,
                "part of the mean below",
                Verdict::Info,
            );
            if j == 0 {
                let plot = scatter(
                    "Two-moons posterior: reference vs FFF",
                    1.2,
                    vec![
                        series("reference", &reference, 0),
                        series("FFF", &samples, 1),
                    ],
                );
                ctx.save_figure("sbi-two-moons.svg", "Posterior samples for the first observation: exact reference and conditional FFF.", |path| plot.save_svg(path))?;
            }
            ctx.step()?;
        }
        let (mean, se, ok) = c2st_within_band(&scores, p.c2st_band);
        table.push(
            format!("mean over {} observations (SE {se:.3})", scores.len()),
            mean,
            format!(
                "competitive [abstract]: 0.5 − 3 SE ≤ C2ST ≤ {}{}",
                p.c2st_band,
                if ctx.mode == Mode::Full {
                    ""
                } else {
                    " (budget band of this mode; full: 0.75)"
                }
            ),
            Verdict::check(ok),
        );
        table.push("training time (s)", secs, "timing, no claim", Verdict::Info);
        let notes = vec![
            format!(
                "sbibm two moons, {} simulations; encoder: a fully connected SiLU network {:?} then a ResNet ({} blocks of {:?}), decoder mirrored, the observation concatenated to every sub-network's input (the official sbi_base config), β = {}, Adam {} with weight decay {}, one-cycle, batch {}, {} steps. Reference posteriors are exact draws from flow-data (sbibm's 10 fixed observations are not vendored: observations are fresh prior predictive draws). C2ST: flow-data's cross-validated MLP classifier. The history of the full preset (with and without the fully connected front) is in docs/LONG_RUNS.md.",
                p.simulations,
                p.front,
                p.net.blocks,
                p.net.hidden,
                p.net.beta,
                p.net.lr,
                p.weight_decay,
                p.net.batch,
                p.net.steps
            ),
            format!(
                "Band: the mean C2ST over the observations must lie between 0.5 − 3 SE (chance) and {}. Full mode holds it to 0.75, our threshold for 'competitive' (the paper's per-task C2ST values were not recovered). Quick mode trains {} steps instead of the full 16 000 at a smaller width and scores fewer observations, so it is held to 0.85: a posterior that misses the crescent (a blur over the prior-predictive spread) scores above 0.9.",
                p.c2st_band, p.net.steps
            ),
        ];
        Ok(Outcome {
            tables: vec![table],
            figures: Vec::new(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C2ST row can fail: a blurred posterior (scores near 0.95) is above any band, and a
    /// score below chance beyond noise is rejected too.
    #[test]
    fn c2st_band_rejects_poor_and_impossible_scores() {
        assert!(c2st_within_band(&[0.62, 0.66, 0.7], 0.75).2);
        assert!(!c2st_within_band(&[0.93, 0.95, 0.97], 0.85).2);
        assert!(!c2st_within_band(&[0.30, 0.31, 0.29], 0.85).2);
    }
}
