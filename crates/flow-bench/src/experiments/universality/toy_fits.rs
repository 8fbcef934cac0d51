//! `coupling-toy-fits`: RealNVP and NSF by maximum likelihood on 2-D toys, test NLL against
//! the exact entropy.

use flow_core::optim::Schedule;
use flow_core::{DType, no_grad};
use flow_coupling::train::nll::{Dataset, evaluate_nll};
use flow_coupling::{Flow, NsfConfig, RealNvpConfig, SplineConfig, TrainConfig, Trainer};
use flow_data::toy::Toy2d;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::experiments::flow_data::{toy_name, window};
use crate::paper::PaperId;
use crate::plot::Heatmap;
use crate::validate::PresetLimit;

use crate::experiments::coupling::common::*;

/// One fit of [`CouplingToyFits`]: a toy, a model and its own size and training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToyFit {
    /// Distribution to fit.
    pub toy: Toy2d,
    /// Model to fit.
    pub model: CouplingModel,
    /// Coupling blocks.
    pub blocks: usize,
    /// Hidden widths of the subnets.
    pub hidden: Vec<usize>,
    /// Spline bins (NSF only).
    pub bins: usize,
    /// Spline half-width B, in ActNorm-standardised units (NSF only).
    pub bound: f64,
    /// Soft-clamp bound α of the affine log-scales (RealNVP only). Quick mode keeps α = 2: at
    /// 5k steps α = 4 made no difference beyond seed noise (8 Gaussians 0.094 → 0.092,
    /// checkerboard 0.076 → 0.104 on the report's seed). The full preset uses α = 4 on 8
    /// Gaussians and the checkerboard, the setting its RealNVP runs reached ≤ 0.05 with
    /// (docs/LONG_RUNS.md).
    pub clamp: f64,
    /// Training settings (steps, batch, learning rate and schedule, clipping).
    pub train: TrainConfig,
    /// Pass band on NLL − H (nats): the claim's 0.05 in full mode; in quick mode a wider band
    /// for fits whose budget (steps, blocks) is below what reaches 0.05, stated on the page.
    pub tolerance: f64,
}

impl ToyFit {
    fn build(&self, seed: u64) -> Flow {
        let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(seed);
        match self.model {
            CouplingModel::RealNvp => RealNvpConfig::new(2)
                .with_clamp(self.clamp)
                .with_blocks(self.blocks)
                .with_hidden(&self.hidden)
                .build(DType::F32, &mut rng),
            CouplingModel::Nsf => NsfConfig::new(2)
                .with_blocks(self.blocks)
                .with_hidden(&self.hidden)
                .with_spline(SplineConfig::new(self.bins, self.bound))
                .build(DType::F32, &mut rng),
        }
    }
}

/// Preset of [`CouplingToyFits`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToyFitPreset {
    /// The fits, grouped by toy (each toy's data is drawn once).
    pub fits: Vec<ToyFit>,
    /// Training samples.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Density-plot cells per axis.
    pub grid: usize,
}

/// The claim's band on NLL − H (nats).
pub const CLAIM_GAP: f64 = 0.05;

/// The judged KL estimate: `gap = mean(log p − log q)` over test samples, an estimate of
/// KL(p‖q) ≥ 0, with its Monte-Carlo standard error. Two-sided: the gap must be at most
/// `tolerance` and at least `−3 SE`, so a `log q` that overstates the density (a negative KL,
/// impossible for a normalised q) fails.
pub fn judge_gap(log_p: &[f64], log_q: &[f64], tolerance: f64) -> (f64, f64, bool) {
    let d: Vec<f64> = log_p.iter().zip(log_q).map(|(a, b)| a - b).collect();
    let n = d.len() as f64;
    let gap = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - gap).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let se = (var / n).sqrt();
    (gap, se, gap >= -3.0 * se && gap <= tolerance)
}

/// Training settings: `steps` steps of Adam with a one-cycle schedule (5 % cosine warm-up
/// from `lr/10` to `lr`, cosine decay to `lr/1000`), gradient norm clipped at 10.
pub fn one_cycle(steps: u64, batch: usize, lr: f64) -> TrainConfig {
    TrainConfig::new(steps)
        .with_batch_size(batch)
        .with_learning_rate(lr)
        .with_schedule(Schedule::OneCycle {
            total_steps: steps,
            pct_start: 0.05,
            div_factor: 10.0,
            final_div_factor: 100.0,
        })
        .with_max_grad_norm(Some(10.0))
}

impl ToyFitPreset {
    /// The preset for `mode`.
    pub fn for_mode(mode: Mode) -> ToyFitPreset {
        use CouplingModel::{Nsf, RealNvp};
        let toys = [
            Toy2d::TWO_MOONS,
            Toy2d::EIGHT_GAUSSIANS,
            Toy2d::Checkerboard,
        ];
        let fit = |toy: Toy2d, model, blocks, hidden: &[usize], bins, train, tolerance| ToyFit {
            toy,
            model,
            blocks,
            hidden: hidden.to_vec(),
            bins,
            bound: 4.0,
            clamp: if mode == Mode::Full && toy != Toy2d::TWO_MOONS {
                4.0
            } else {
                2.0
            },
            train,
            tolerance,
        };
        let (samples, test, grid, fits) = match mode {
            Mode::Test => {
                let fits = toys
                    .iter()
                    .flat_map(|&t| {
                        [
                            fit(t, RealNvp, 8, &[16], 8, one_cycle(30, 128, 2e-3), 10.0),
                            fit(t, Nsf, 4, &[16], 8, one_cycle(30, 128, 2e-3), 10.0),
                        ]
                    })
                    .collect();
                (2_000, 2_000, 24, fits)
            }
            Mode::Quick => {
                let [moons, gauss, checker] = toys;
                // The quick budget: RealNVP needs 24 blocks and ≥ 20k steps for 0.05 on the
                // 8 Gaussians and the checkerboard (full preset, docs/LONG_RUNS.md); here it
                // gets 16 blocks and 3000 steps, judged against budget bands: 0.15 nats on the
                // checkerboard, 0.3 on the 8 Gaussians (a tenth of the 3.2-nat gap of the best
                // single Gaussian there, see the page: affine couplings need many blocks to
                // separate 8 modes of σ = 0.1). The checkerboard NSF at 4000 steps gets 0.08
                // (edges of a discontinuous density, see the note on the page).
                let h = [64, 64];
                let fits = vec![
                    fit(
                        moons,
                        RealNvp,
                        8,
                        &h,
                        8,
                        one_cycle(2_500, 256, 2e-3),
                        CLAIM_GAP,
                    ),
                    fit(moons, Nsf, 4, &h, 8, one_cycle(2_000, 256, 2e-3), CLAIM_GAP),
                    fit(gauss, RealNvp, 16, &h, 8, one_cycle(3_000, 256, 1e-3), 0.3),
                    fit(
                        gauss,
                        Nsf,
                        4,
                        &h,
                        16,
                        one_cycle(3_000, 256, 2e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        checker,
                        RealNvp,
                        16,
                        &h,
                        8,
                        one_cycle(3_000, 256, 2e-3),
                        0.15,
                    ),
                    fit(checker, Nsf, 6, &h, 32, one_cycle(4_000, 256, 2e-3), 0.08),
                ];
                (50_000, 20_000, 96, fits)
            }
            Mode::Full => {
                let [moons, gauss, checker] = toys;
                let h = [128, 128];
                let fits = vec![
                    fit(
                        moons,
                        RealNvp,
                        8,
                        &h,
                        8,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        moons,
                        Nsf,
                        4,
                        &h,
                        8,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        gauss,
                        RealNvp,
                        24,
                        &h,
                        8,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        gauss,
                        Nsf,
                        4,
                        &h,
                        16,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        checker,
                        RealNvp,
                        24,
                        &h,
                        8,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                    fit(
                        checker,
                        Nsf,
                        6,
                        &h,
                        32,
                        one_cycle(20_000, 512, 1e-3),
                        CLAIM_GAP,
                    ),
                ];
                (200_000, 100_000, 160, fits)
            }
        };
        ToyFitPreset {
            fits,
            train_samples: samples,
            test_samples: test,
            grid,
        }
    }
}

/// `coupling-toy-fits`: RealNVP and NSF on two moons, 8 Gaussians and checkerboard.
pub struct CouplingToyFits;

impl Experiment for CouplingToyFits {
    /// A spline needs two bins; standardising the training data needs two samples.
    fn preset_limits(&self) -> &'static [PresetLimit] {
        &[
            PresetLimit {
                field: "bins",
                min: 2,
                max: crate::validate::MAX_COUNT,
            },
            PresetLimit {
                field: "train_samples",
                min: 2,
                max: crate::validate::MAX_COUNT,
            },
        ]
    }
    fn id(&self) -> &'static str {
        "coupling-toy-fits"
    }

    fn paper(&self) -> PaperId {
        PaperId::Universality
    }

    fn title(&self) -> &'static str {
        "Coupling flows (RealNVP, NSF) fit toy densities to near their entropy"
    }

    fn claim(&self) -> &'static str {
        "Well-conditioned affine couplings are distributionally universal; affine (RealNVP) and spline (NSF) coupling flows trained by maximum likelihood reach a test NLL within 0.05 nats of the exact entropy on 2-D toys with known density."
    }

    /// 5: the NSF rows train through the fused spline kernels (session 20); their numbers
    /// moved by round-off (≤ 2 % of a gap, no verdict changed).
    fn version(&self) -> u32 {
        5
    }

    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&ToyFitPreset::for_mode(mode))
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: ToyFitPreset = ctx.preset()?;
        ctx.set_work(p.fits.len() as u64);
        let mut gaps = Table::new(
            &format!(
                "Test NLL − exact entropy H (nats), {} test samples",
                p.test_samples
            ),
            "toy, model",
            "NLL − H",
        );
        let mut notes = Vec::new();
        let mut toys: Vec<Toy2d> = Vec::new();
        for f in &p.fits {
            if !toys.contains(&f.toy) {
                toys.push(f.toy);
            }
        }
        for (ti, toy) in toys.iter().enumerate() {
            let name = toy_name(toy);
            let mut rng = ctx.rng(ti as u64);
            let train = Dataset::new(toy.sample(p.train_samples, DType::F32, &mut rng), None);
            let test_x = toy.sample(p.test_samples, DType::F64, &mut rng);
            let log_p = toy
                .log_density(&test_x)
                .ok_or_else(|| ExperimentError::Failed(format!("{name}: no exact density")))?
                .to_vec_f64();
            let entropy = -log_p.iter().sum::<f64>() / log_p.len() as f64;
            let test = Dataset::new(test_x.to_dtype(DType::F32), None);
            for (mi, fit) in p.fits.iter().filter(|f| f.toy == *toy).enumerate() {
                let model = fit.model;
                let label = format!("{name}, {}", model_name(model));
                ctx.set_message(label.clone());
                let flow = fit.build(rng.random());
                flow.initialize(&train.x.narrow(0, 0, 4096.min(p.train_samples)), None);
                let config = fit.train.clone().with_seed(100 * ti as u64 + mi as u64);
                let mut trainer = Trainer::new(&flow, config);
                let batch = fit.train.batch_size;
                let steps = fit.train.steps;
                let secs = train_chunked(ctx, &mut trainer, steps, |t, until| {
                    t.run_until(until, |f, r| {
                        let (x, _) = train.batch(batch, r);
                        flow_coupling::train::nll::nll_loss(f, &x, None)
                    })
                })?;
                let nll = evaluate_nll(&flow, &test, 4096);
                let log_q = no_grad(|| flow.log_prob(&test.x, None).to_vec_f64());
                let (gap, se, ok) = judge_gap(&log_p, &log_q, fit.tolerance);
                let band = if fit.tolerance == CLAIM_GAP {
                    format!("−3 SE ≤ gap ≤ {CLAIM_GAP} (claim)")
                } else {
                    format!(
                        "−3 SE ≤ gap ≤ {} (budget band of this mode; claim {CLAIM_GAP})",
                        fit.tolerance
                    )
                };
                gaps.push(
                    format!("{label} (NLL {nll:.4}, H = {entropy:.4}, SE {se:.4})"),
                    gap,
                    band,
                    Verdict::check(ok),
                );
                notes.push(format!(
                    "{label}: {} blocks, subnets {:?}{}, batch {}, peak lr {}; {steps} steps in {secs:.1} s ({:.2} ms/step).",
                    fit.blocks,
                    fit.hidden,
                    if model == CouplingModel::Nsf {
                        format!(", {} bins on [−{b}, {b}]", fit.bins, b = fit.bound)
                    } else {
                        format!(", log-scale clamp α = {}", fit.clamp)
                    },
                    batch,
                    fit.train.learning_rate,
                    1e3 * secs / steps as f64
                ));
                let win = window(toy);
                let map = Heatmap {
                    title: format!("{label}: learned density"),
                    value_label: "q(x)".into(),
                    x_range: win.0,
                    y_range: win.1,
                    nx: p.grid,
                    ny: p.grid,
                    values: flow_density_grid(&flow, win, p.grid),
                };
                ctx.save_figure(
                    &format!("{name}-{}-density.svg", model_name(model)),
                    format!("{label}: density of the trained flow (compare with the exact density on the flow-data page)."),
                    |path| map.save_svg(path),
                )?;
                ctx.step()?;
            }
        }
        notes.push(
            "Band: the gap is a Monte-Carlo estimate of KL(p‖q) ≥ 0 with standard error SE over the test samples; it must lie in [−3 SE, band]. A negative gap beyond 3 SE means q overstates the density (it cannot be normalised). The claim's band is 0.05 nats; a fit whose quick budget (fewer blocks or steps than the full preset) cannot reach it is judged against the wider band shown in its row (for scale: the best single Gaussian has a gap of about 3.2 nats on the 8 Gaussians and 1.05 on the checkerboard), and full mode judges every fit against 0.05.".into(),
        );
        notes.push(
            "Checkerboard's density is discontinuous (uniform on 8 cells): a smooth flow pays for the edges, so its gap shrinks slowly with capacity and steps; the entropy is exactly ln 32.".into(),
        );
        Ok(Outcome {
            tables: vec![gaps],
            figures: Vec::new(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gap check is two-sided: a log q that overstates the density by a constant fails,
    /// as does an understating one beyond the band; the true density passes.
    #[test]
    fn overstated_log_prob_fails_the_gap_check() {
        let log_p: Vec<f64> = (0..2000).map(|i| -1.0 - 0.001 * (i % 97) as f64).collect();
        let noisy: Vec<f64> = log_p
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.01 * ((i * 7919 % 13) as f64 - 6.0) / 6.0)
            .collect();
        assert!(judge_gap(&log_p, &noisy, CLAIM_GAP).2);
        let overstated: Vec<f64> = noisy.iter().map(|v| v + 0.2).collect();
        let (gap, _, ok) = judge_gap(&log_p, &overstated, CLAIM_GAP);
        assert!(gap < 0.0 && !ok, "overstated density passed with gap {gap}");
        let understated: Vec<f64> = noisy.iter().map(|v| v - 0.2).collect();
        assert!(!judge_gap(&log_p, &understated, CLAIM_GAP).2);
    }
}
