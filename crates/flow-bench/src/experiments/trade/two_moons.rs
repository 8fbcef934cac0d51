//! `trade-two-moons`: the tempered two-moons posterior `p_β(ϑ | x) ∝ p(x | ϑ)^β π(ϑ)` of TRADE
//! (arXiv 2410.19492; `trade.md` §3.3): one flow `q_θ(ϑ | x, β)` for every observation and
//! β ∈ [0.4, 2.1], trained with simulated pairs at β = 1 only. TRADE is the paper's
//! energy-free variant (the likelihood comes from the model at β = 1, with the correct
//! `A = −log p(x|ϑ)`, `flow_trade::posterior`); the baseline is the same flow trained by NLL
//! at β = 1 and evaluated at other β. Metric: calibration of the radius
//! `r = |x − m(ϑ) − (0.25, 0)|` at β = 0.5, 1, 2 — the PIT of an exact draw of `p_β(ϑ | x)`
//! (rejection sampler, `flow_trade::two_moons`) among flow draws, over many observations,
//! with its KS distance to uniform and the central-interval coverage curves.

use flow_core::nn::Module;
use flow_core::train::StepLoss;
use flow_core::{Tensor, no_grad};
use flow_trade::Architecture;
use flow_trade::continuous::Widening;
use flow_trade::metrics::{central_coverage, ks_uniform, pit};
use flow_trade::posterior::{PosteriorFlow, energy_free_residual};
use flow_trade::train::optimize;
use flow_trade::two_moons::{log_prior, radius, sample_tempered_posterior, simulate_joint};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::methods::{Method, Training, fail, judge_pairs_at, mean_sd, pick, summarize};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::plot::{LinePlot, Scale, Series};

/// Preset of [`TradeTwoMoons`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoMoonsPreset {
    /// Training seeds per method.
    pub seed_values: Vec<u64>,
    /// Simulated (ϑ, x) training pairs (β = 1).
    pub data: usize,
    /// Steps, Adam learning rate (cosine decay), gradient clip, NLL batch and the flow's
    /// coupling blocks, subnet widths (SiLU) and coupling type (the paper: rational-quadratic
    /// splines); the TRADE pages' shared [`Training`], flattened (same preset keys).
    #[serde(flatten)]
    pub training: Training,
    /// β interval of the family (c₀ = 1).
    pub beta_range: (f64, f64),
    /// Final residual weight; ramped in (cosine) between the two fractions of the run.
    pub pde_weight: f64,
    /// Fraction of the run before the residual starts.
    pub pde_start: f64,
    /// Fraction of the run at which it reaches `pde_weight`.
    pub pde_full: f64,
    /// β values per step (1 among them) on the widening interval.
    pub widening: Widening,
    /// Observations per β per step.
    pub obs_per_beta: usize,
    /// Flow samples per observation (SNIS and evaluation points).
    pub samples_per_obs: usize,
    /// Huber threshold.
    pub huber_delta: f64,
    /// Evaluation β values.
    pub eval_betas: Vec<f64>,
    /// Test observations per β (each with one exact posterior draw).
    pub test_obs: usize,
    /// Flow draws per test observation.
    pub flow_samples: usize,
}

/// `trade-two-moons` (see the module docs).
pub struct TradeTwoMoons;

const METHODS: [Method; 2] = [Method::TradeEnergyFree, Method::Nll];
const LEVELS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

impl Experiment for TradeTwoMoons {
    fn id(&self) -> &'static str {
        "trade-two-moons"
    }
    /// 2: the full preset's spline flow runs on the fused spline kernels (session 20).
    fn version(&self) -> u32 {
        2
    }
    fn paper(&self) -> PaperId {
        PaperId::Trade
    }
    fn title(&self) -> &'static str {
        "TRADE on the tempered two-moons posterior: calibration at β = 0.5, 1, 2"
    }
    fn claim(&self) -> &'static str {
        "One flow conditioned on the observation and the likelihood power, trained with simulations at β = 1 and energy-free TRADE, is calibrated for the tempered posterior p(x|ϑ)^β π(ϑ) at β = 0.5, 1 and 2 (coverage of the radius statistic), and better calibrated away from β = 1 than the same flow trained at β = 1 only."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&TwoMoonsPreset {
            seed_values: pick(mode, vec![0], vec![0, 1, 2], vec![0, 1, 2]),
            data: pick(mode, 2000, 20_000, 100_000),
            training: Training {
                steps: pick(mode, 10, 400, 8000),
                learning_rate: pick(mode, 3e-3, 3e-3, 4e-4),
                clip: 3.0,
                batch: pick(mode, 64, 256, 512),
                blocks: pick(mode, 2, 4, 10),
                hidden: pick(mode, vec![16], vec![32, 32], vec![128, 128]),
                // Quick: affine. RQ splines (8 bins, bound 3; the paper's coupling) at the
                // quick budget were unstable (KS at β = 1 of 0.54 ± 0.25 against 0.30 ± 0.01
                // for affine, at 2.2 times the CPU); full keeps the paper's splines with its
                // lr 4e-4.
                architecture: pick(
                    mode,
                    Architecture::Affine { clamp: 2.0 },
                    Architecture::Affine { clamp: 2.0 },
                    Architecture::Spline {
                        bins: 8,
                        bound: 3.0,
                    },
                ),
            },
            beta_range: (0.4, 2.1),
            pde_weight: 0.1,
            pde_start: 0.2,
            pde_full: 0.5,
            widening: Widening {
                params_per_step: 3,
                widen_start: 0.0,
                widen_full: 0.5,
            },
            obs_per_beta: pick(mode, 4, 8, 16),
            samples_per_obs: pick(mode, 16, 32, 64),
            huber_delta: 1.0,
            eval_betas: vec![0.5, 1.0, 2.0],
            // 1000 observations (the paper's): the band (0.062 with 100 draws) is then below
            // the KS distance ≈ 0.083 of the exact β = 1 posterior judged at β = 2, so a flow
            // that ignored β would fail (`flow_trade::two_moons` tests).
            test_obs: pick(mode, 50, 1000, 1000),
            flow_samples: pick(mode, 50, 100, 300),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: TwoMoonsPreset = ctx.preset()?;
        ctx.set_work((METHODS.len() * p.seed_values.len()) as u64 + 1);
        let mut rng = ctx.rng(0);
        let (theta, x) = simulate_joint(p.data, &mut rng);
        // Test observations from the joint, one exact draw of p_β(ϑ | x) each.
        let (_, x_test) = simulate_joint(p.test_obs, &mut rng);
        let xt = x_test.to_vec_f64();
        let refs: Vec<Vec<f64>> = p
            .eval_betas
            .iter()
            .map(|&b| {
                (0..p.test_obs)
                    .map(|j| {
                        let o = [xt[2 * j], xt[2 * j + 1]];
                        let th = sample_tempered_posterior(o, b, 1, &mut rng).to_vec_f64();
                        radius(o, [th[0], th[1]])
                    })
                    .collect()
            })
            .collect();
        // pits[method][seed][beta] = PIT values over the test observations.
        let mut pits: Vec<Vec<Vec<Vec<f64>>>> = vec![vec![]; METHODS.len()];
        for (mi, &method) in METHODS.iter().enumerate() {
            for &seed in &p.seed_values {
                ctx.check_cancelled()?;
                ctx.set_message(format!("{}, seed {seed}", method.label()));
                let mut mrng = ctx.rng(100 + seed);
                let t = &p.training;
                let model =
                    PosteriorFlow::new(2, 2, t.blocks, &t.hidden, &t.architecture, &mut mrng);
                train(
                    &model,
                    &p,
                    &theta,
                    &x,
                    method == Method::TradeEnergyFree,
                    seed,
                )?;
                let per_beta = p
                    .eval_betas
                    .iter()
                    .zip(&refs)
                    .map(|(&b, r)| pits_at(&model, &p, &x_test, b, r, &mut mrng))
                    .collect();
                pits[mi].push(per_beta);
                ctx.step()?;
            }
        }
        let table = calibration_table(&p, &pits);
        plot_coverage(ctx, &p, &pits)?;
        ctx.step()?;
        Ok(Outcome {
            tables: vec![table],
            figures: vec![],
            notes: vec![settings_note(&p)],
        })
    }
}

/// NLL on simulated pairs at β = 1, plus (TRADE) the ramped energy-free residual.
fn train(
    model: &PosteriorFlow,
    p: &TwoMoonsPreset,
    theta: &Tensor,
    x: &Tensor,
    trade: bool,
    seed: u64,
) -> Result<(), ExperimentError> {
    let lc = p.training.loop_config(seed);
    let n = theta.dim(0);
    let (steps, batch) = (p.training.steps, p.training.batch);
    optimize(&model.parameters(), &lc, |step, rng| {
        let idx: Vec<usize> = (0..batch).map(|_| rng.random_range(0..n)).collect();
        let one = Tensor::from_vec(vec![1.0; batch], &[batch]);
        let b = model
            .log_prob(&theta.index_select(0, &idx), &one, &x.index_select(0, &idx))
            .neg()
            .mean_all();
        let t = step as f64 / steps.max(1) as f64;
        if !trade || t <= p.pde_start {
            return Ok(StepLoss::new(b));
        }
        let u = ((t - p.pde_start) / (p.pde_full - p.pde_start)).min(1.0);
        let lambda = p.pde_weight * 0.5 * (1.0 - (std::f64::consts::PI * u).cos());
        let progress = (t - p.pde_start) / (1.0 - p.pde_start);
        let betas = p.widening.draw(1.0, p.beta_range, progress, rng);
        let mut total: Option<Tensor> = None;
        for &beta in &betas {
            let rows: Vec<usize> = (0..p.obs_per_beta)
                .map(|_| rng.random_range(0..n))
                .collect();
            let xo = x.index_select(0, &rows);
            let terms = energy_free_residual(
                model,
                &xo,
                beta,
                p.samples_per_obs,
                &log_prior,
                p.huber_delta,
                step,
                rng,
            )?
            .mean_all();
            total = Some(total.map_or(terms.clone(), |s| s.add(&terms)));
        }
        let r = total
            .expect("at least one β")
            .mul_scalar(1.0 / betas.len() as f64);
        let rv = r.item();
        Ok(StepLoss::new(b.add(&r.mul_scalar(lambda))).with_term("residual", rv))
    })
    .map_err(fail)?;
    Ok(())
}

/// PIT of each exact radius `refs[j]` among `flow_samples` flow radii at `(x_j, β)`.
fn pits_at(
    model: &PosteriorFlow,
    p: &TwoMoonsPreset,
    x_test: &Tensor,
    beta: f64,
    refs: &[f64],
    rng: &mut impl rand::Rng,
) -> Vec<f64> {
    let s = p.flow_samples;
    let rows: Vec<usize> = (0..p.test_obs)
        .flat_map(|j| std::iter::repeat_n(j, s))
        .collect();
    let xr = x_test.index_select(0, &rows);
    let b = Tensor::from_vec(vec![beta; rows.len()], &[rows.len()]);
    let (th, _) = no_grad(|| model.sample(&b, &xr, rng));
    let (th, xv) = (th.to_vec_f64(), xr.to_vec_f64());
    (0..p.test_obs)
        .map(|j| {
            let rs: Vec<f64> = (j * s..(j + 1) * s)
                .map(|k| radius([xv[2 * k], xv[2 * k + 1]], [th[2 * k], th[2 * k + 1]]))
                .collect();
            pit(refs[j], &rs)
        })
        .collect()
}

/// The KS band at 99 % (DKW: `√(ln(2/0.01)/(2N))`) plus the PIT's discreteness `1/S`.
fn ks_band(p: &TwoMoonsPreset) -> f64 {
    ((2f64 / 0.01).ln() / (2.0 * p.test_obs as f64)).sqrt() + 1.0 / p.flow_samples as f64
}

/// Calibration rows (per β: every seed of TRADE within the KS band) and the claim rows (the
/// baseline's KS exceeds TRADE's by more than 2 SE of the difference of seed means).
fn calibration_table(p: &TwoMoonsPreset, pits: &[Vec<Vec<Vec<f64>>>]) -> Table {
    let mut table = Table::new(
        &format!(
            "Calibration of the radius r = |x − m(ϑ) − (0.25, 0)| under q(ϑ | x, β): KS distance of the PIT of an exact posterior draw among {} flow draws to uniform, over {} observations, mean ± sd over {} seed(s)",
            p.flow_samples,
            p.test_obs,
            p.seed_values.len()
        ),
        "check, β",
        "KS distance",
    );
    let band = ks_band(p);
    for (bi, &beta) in p.eval_betas.iter().enumerate() {
        let ks: Vec<Vec<f64>> = pits
            .iter()
            .map(|m| m.iter().map(|s| ks_uniform(&s[bi])).collect())
            .collect();
        let summary = summarize(&METHODS, &ks, 1.0, 3);
        let worst = ks[0].iter().copied().fold(0.0, f64::max);
        table.push(
            format!(
                "{} calibrated (every seed), β = {beta} ({summary})",
                METHODS[0].label()
            ),
            worst,
            format!("< {band:.3} (DKW 99 % for {} PITs + 1/S)", p.test_obs),
            Verdict::check(worst < band),
        );
        if (beta - 1.0).abs() > 1e-12 {
            judge_pairs_at(&mut table, &format!("β = {beta}"), &summary, &METHODS, &ks);
        }
    }
    table
}

/// Coverage of central intervals against the nominal level, mean over seeds, per β and method.
fn plot_coverage(
    ctx: &mut RunContext,
    p: &TwoMoonsPreset,
    pits: &[Vec<Vec<Vec<f64>>>],
) -> Result<(), ExperimentError> {
    let mut series = vec![Series::dashed("ideal", vec![(0.0, 0.0), (1.0, 1.0)], 0)];
    for (mi, m) in METHODS.iter().enumerate() {
        for (bi, &beta) in p.eval_betas.iter().enumerate() {
            let pts = LEVELS
                .iter()
                .enumerate()
                .map(|(li, &a)| {
                    let v: Vec<f64> = pits[mi]
                        .iter()
                        .map(|s| central_coverage(&s[bi], &LEVELS)[li])
                        .collect();
                    (a, mean_sd(&v).0)
                })
                .collect();
            let label = format!("{}, β = {beta}", m.label());
            series.push(if mi == 0 {
                Series::solid(label, pts, 1 + bi)
            } else {
                Series::dashed(label, pts, 1 + bi)
            });
        }
    }
    ctx.save_figure(
        "coverage.svg",
        "Coverage of central credible intervals of the radius vs nominal level (mean over seeds): TRADE solid, NLL at β = 1 only dashed",
        |path| {
            LinePlot {
                title: "Tempered two-moons coverage".into(),
                x_label: "nominal level".into(),
                y_label: "empirical coverage".into(),
                x_scale: Scale::Linear,
                y_scale: Scale::Linear,
                series,
            }
            .save_svg(path)
        },
    )
}

fn settings_note(p: &TwoMoonsPreset) -> String {
    format!(
        "Prior N(0, 0.3² I) (the TRADE code's), SBI-benchmark two-moons simulator, {} simulated pairs at β = 1. Both methods: the same flow q(ϑ | x, β) ({} {:?} coupling blocks, subnets {:?}, SiLU, condition [log β, x], latent N(0, I)), {} steps of Adam (lr {}, cosine decay), clip {}, NLL batch {}, seeds {:?}. TRADE (energy-free): A = −(log q(ϑ|x,1) − log π(ϑ)), Huber (δ = {}) residual weight {} ramped in from {:.0}% to {:.0}% of the run, {} β values per step on an interval widening from {{1}} to [{}, {}], {} observations per β with {} flow samples each (SNIS per observation). Evaluation: {} test observations from the joint, one exact draw of p_β(ϑ|x) each (rejection sampler), {} flow draws per observation. Timings are on a shared machine.",
        p.data,
        p.training.blocks,
        p.training.architecture,
        p.training.hidden,
        p.training.steps,
        p.training.learning_rate,
        p.training.clip,
        p.training.batch,
        p.seed_values,
        p.huber_delta,
        p.pde_weight,
        100.0 * p.pde_start,
        100.0 * p.pde_full,
        p.widening.params_per_step,
        p.beta_range.0,
        p.beta_range.1,
        p.obs_per_beta,
        p.samples_per_obs,
        p.test_obs,
        p.flow_samples
    )
}
