//! `trade-double-well`: TRADE on the tempered 2-D double well `u = x₁⁴ − 4x₁² + ½x₂²`,
//! `p(x|T) ∝ exp(−u/T)`, T ∈ [0.4, 1.1], data only at T = 1 (arXiv 2410.19492 §5.2;
//! `trade.md` §3.2), against reverse KL across T and NLL with latent temperature scaling on
//! the same budget; forward KL per T with the exact normaliser, and the free-energy curve
//! from TRADE's E_T[A] table against quadrature.

use flow_core::DType;
use flow_data::energy::{DoubleWell2d, Tempered};
use flow_trade::continuous::Widening;
use flow_trade::exact::{double_well_ex_a, double_well_samples};
use flow_trade::free_energy::trapezoid_log_z;
use flow_trade::metrics::{forward_kl, reverse_ess};
use flow_trade::train::{
    Boundary, LoopConfig, Sampler, TradeConfig, fit_nll, fit_reverse_kl, fit_trade,
};
use flow_trade::{Family, LatentScale, ParamFlowConfig};
use serde::{Deserialize, Serialize};

use super::methods::{Method, fail, judge_pairs, mean_sd, pick};
use super::report::{free_energy_table, plot_free_energy, plot_kl};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;

/// Preset of [`TradeDoubleWell`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoubleWellPreset {
    /// Training seeds per method.
    pub seed_values: Vec<u64>,
    /// Methods.
    pub methods: Vec<Method>,
    /// Optimiser steps (same for every method).
    pub steps: u64,
    /// Adam learning rate (cosine decay).
    pub learning_rate: f64,
    /// Gradient-norm clip.
    pub clip: f64,
    /// Batch of the NLL / reverse-KL terms.
    pub batch: usize,
    /// Affine coupling blocks.
    pub blocks: usize,
    /// Subnet hidden widths.
    pub hidden: Vec<usize>,
    /// Exact training samples at T = 1.
    pub data: usize,
    /// Exact test samples per evaluation temperature.
    pub test: usize,
    /// Flow samples for the reverse ESS.
    pub ess_samples: usize,
    /// Temperature interval.
    pub t_range: (f64, f64),
    /// Evaluation temperatures.
    pub eval_ts: Vec<f64>,
    /// The headline temperature away from T = 1.
    pub headline_t: f64,
    /// TRADE settings (grid variant; the continuous variant replaces the sampler).
    pub trade: TradeConfig,
    /// The continuous variant's c-schedule.
    pub continuous: Widening,
}

/// `trade-double-well` (see the module docs).
pub struct TradeDoubleWell;

fn family(p: &DoubleWellPreset) -> Result<Family, ExperimentError> {
    let e = Box::new(Tempered::temperature(DoubleWell2d::bgflow()));
    Family::new(e, 1.0, p.t_range.0, p.t_range.1)
        .map_err(|e| ExperimentError::Failed(e.to_string()))
}

impl Experiment for TradeDoubleWell {
    fn id(&self) -> &'static str {
        "trade-double-well"
    }
    fn version(&self) -> u32 {
        2
    }
    fn paper(&self) -> PaperId {
        PaperId::Trade
    }
    fn title(&self) -> &'static str {
        "TRADE on the tempered 2-D double well: transfer away from the data temperature"
    }
    fn claim(&self) -> &'static str {
        "Trained with data at T = 1 only, TRADE's conditional flow matches p(x|T) away from T = 1 better (lower forward KL) than reverse KL across T and than NLL with latent temperature scaling on the same budget; its E_T[A] table integrates to the free-energy curve."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&DoubleWellPreset {
            seed_values: pick(mode, vec![0], vec![0, 1, 2], vec![0, 1, 2, 3, 4]),
            methods: vec![
                Method::Trade,
                Method::TradeContinuous,
                Method::ReverseKl,
                Method::NllLatentScaling,
            ],
            steps: pick(mode, 20, 600, 20_000),
            learning_rate: 3e-3,
            clip: 3.0,
            batch: pick(mode, 64, 256, 512),
            blocks: pick(mode, 2, 6, 12),
            hidden: pick(mode, vec![16], vec![32, 32], vec![128, 128]),
            data: pick(mode, 2000, 20_000, 100_000),
            test: pick(mode, 500, 10_000, 100_000),
            ess_samples: pick(mode, 500, 5000, 30_000),
            t_range: (0.4, 1.1),
            eval_ts: vec![0.4, 0.5, 0.6, 0.7, 0.85, 1.0, 1.1],
            headline_t: 0.5,
            trade: TradeConfig {
                boundary: Boundary::Nll,
                batch: pick(mode, 64, 256, 512),
                residual_batch: pick(mode, 64, 256, 512),
                pde_weight: 1.0,
                pde_start: 0.2,
                pde_full: 0.5,
                grid_points: pick(mode, 8, 24, 50),
                snis_samples: pick(mode, 200, 1000, 10_000),
                refresh_every: pick(mode, 5, 50, 64),
                alpha_ex: 0.5,
                alpha_loss: 0.9,
                // ε = 0.1 (≈ no curriculum: ε·s_k ≲ 0.1 here) let one quick seed of the grid
                // variant diverge (forward KL 3.5e4 at T = 0.5); ε = 5 spreads the residual
                // outward from T = 1 as the paper intends and was stable on all seeds.
                epsilon: 5.0,
                huber_delta: 1.0,
                sampler: Sampler::Grid,
                adaptive: None,
            },
            continuous: Widening {
                params_per_step: 4,
                widen_start: 0.0,
                widen_full: 0.5,
            },
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: DoubleWellPreset = ctx.preset()?;
        let fam = family(&p)?;
        let dw = DoubleWell2d::bgflow();
        ctx.set_work((p.methods.len() * p.seed_values.len()) as u64 + 1);
        let mut rng = ctx.rng(0);
        let data = double_well_samples(&dw, p.data, 1.0, &mut rng);
        let tests: Vec<_> = p
            .eval_ts
            .iter()
            .map(|&t| double_well_samples(&dw, p.test, t, &mut rng))
            .collect();
        // kl[method][seed][t], ess[method][seed] at the headline T.
        let mut kl = vec![vec![]; p.methods.len()];
        let mut ess = vec![vec![]; p.methods.len()];
        let mut free_energy: Option<(Vec<f64>, Vec<f64>)> = None;
        for (mi, &method) in p.methods.iter().enumerate() {
            for &seed in &p.seed_values {
                ctx.set_message(format!("{}, seed {seed}", method.label()));
                let mut mrng = ctx.rng(100 + seed);
                let cfg = ParamFlowConfig::affine(2, p.blocks, &p.hidden)
                    .with_latent(LatentScale::Temperature);
                let cfg = cfg.with_conditional(method != Method::NllLatentScaling);
                let model = cfg.build(DType::F64, &mut mrng);
                let lc = LoopConfig {
                    steps: p.steps,
                    learning_rate: p.learning_rate,
                    clip: p.clip,
                    seed,
                };
                match method {
                    Method::Trade => {
                        let (_, state) =
                            fit_trade(&model, &fam, Some(&data), &lc, &p.trade).map_err(fail)?;
                        if free_energy.is_none() {
                            let g = &state.grid;
                            let table = g
                                .table()
                                .ok_or_else(|| fail("TRADE never filled its E[A] table"))?;
                            let f = trapezoid_log_z(g.cs(), table, g.base());
                            free_energy = Some((g.cs().to_vec(), f));
                        }
                    }
                    Method::TradeContinuous => {
                        let mut tc = p.trade.clone();
                        tc.sampler = Sampler::Continuous(p.continuous.clone());
                        fit_trade(&model, &fam, Some(&data), &lc, &tc).map_err(fail)?;
                    }
                    Method::ReverseKl => {
                        fit_reverse_kl(&model, &fam, p.batch, &lc).map_err(fail)?;
                    }
                    Method::NllLatentScaling => {
                        fit_nll(&model, &data, 1.0, p.batch, &lc).map_err(fail)?;
                    }
                    other => {
                        return Err(fail(format!(
                            "{} is not set up on this page (see trade-gmm6)",
                            other.label()
                        )));
                    }
                }
                let row: Vec<f64> = p
                    .eval_ts
                    .iter()
                    .zip(&tests)
                    .map(|(&t, x)| forward_kl(&model, &fam, x, t, dw.log_z(t)))
                    .collect();
                kl[mi].push(row);
                ess[mi].push(reverse_ess(
                    &model,
                    &fam,
                    p.headline_t,
                    p.ess_samples,
                    &mut mrng,
                ));
                ctx.step()?;
            }
        }
        let tables = vec![
            comparison_table(&p, &kl, &ess)?,
            free_energy_table(free_energy.as_ref(), &|t| double_well_ex_a(&dw, t), &|t| {
                dw.log_z(t)
            })?,
        ];
        plot_kl(ctx, &p.methods, &p.eval_ts, &kl)?;
        if let Some((cs, f)) = &free_energy {
            plot_free_energy(ctx, cs, f, &|t| dw.log_z(t))?;
        }
        ctx.step()?;
        let ti = t_index(&p, p.headline_t)?;
        let per_seed: Vec<String> = p
            .methods
            .iter()
            .zip(&kl)
            .map(|(m, rows)| {
                let v: Vec<String> = rows.iter().map(|r| format!("{:.4}", r[ti])).collect();
                format!("{}: [{}]", m.label(), v.join(", "))
            })
            .collect();
        Ok(Outcome {
            tables,
            figures: vec![],
            notes: vec![
                format!(
                    "Per-seed forward KL at T = {} (seeds {:?}): {}.",
                    p.headline_t,
                    p.seed_values,
                    per_seed.join("; ")
                ),
                format!(
                    "Every method: the same conditional affine flow ({} blocks, subnets {:?}, SiLU, latent N(0, T·I), log T fed to every subnet), Adam lr {} with cosine decay, {} steps, clip {}, batch {}; the latent-scaling baseline is the same flow without the condition. TRADE: NLL at T = 1 plus the Huber residual ∂_T log q − (Ê_T[A] − A) with A = −u/T², ramped in from {:.0}% to {:.0}% of the run, on a {}-point log grid with SNIS ({} flow samples per point, refreshed every {} steps, EMA {}), causality ε = {}, Huber δ = {}, residual weight {}; the continuous variant draws {} values of T per step (T = 1 among them) on an interval widening log-linearly to the full range by {:.0}% of the residual phase, with fresh SNIS at each. Forward KL uses {} exact samples per T and the exact log Z(T) by quadrature. Timings are on a shared machine.",
                    p.blocks,
                    p.hidden,
                    p.learning_rate,
                    p.steps,
                    p.clip,
                    p.batch,
                    100.0 * p.trade.pde_start,
                    100.0 * p.trade.pde_full,
                    p.trade.grid_points,
                    p.trade.snis_samples,
                    p.trade.refresh_every,
                    p.trade.alpha_ex,
                    p.trade.epsilon,
                    p.trade.huber_delta,
                    p.trade.pde_weight,
                    p.continuous.params_per_step,
                    100.0 * p.continuous.widen_full,
                    p.test
                ),
            ],
        })
    }
}

fn t_index(p: &DoubleWellPreset, t: f64) -> Result<usize, ExperimentError> {
    p.eval_ts
        .iter()
        .position(|&s| (s - t).abs() < 1e-12)
        .ok_or_else(|| fail(format!("headline T = {t} is not an evaluation temperature")))
}

fn comparison_table(
    p: &DoubleWellPreset,
    kl: &[Vec<Vec<f64>>],
    ess: &[Vec<f64>],
) -> Result<Table, ExperimentError> {
    let ti = t_index(p, p.headline_t)?;
    let t1 = t_index(p, 1.0)?;
    let mut table = Table::new(
        &format!(
            "Forward KL(p_T ‖ q_θ(·|T)) in nats at T = {} (data only at T = 1), mean over {} seed(s) ± sd; the claim (TRADE beats each baseline away from T = 1) is judged per pair: pass where the baseline's mean exceeds TRADE's by more than 2 standard errors of the difference of seed means, fail otherwise (not shown at this budget)",
            p.headline_t,
            p.seed_values.len()
        ),
        "method",
        "forward KL (nats)",
    );
    let at = |mi: usize, t: usize| kl[mi].iter().map(|r| r[t]).collect::<Vec<_>>();
    for (mi, &m) in p.methods.iter().enumerate() {
        let (mean, sd) = mean_sd(&at(mi, ti));
        let (ess_m, _) = mean_sd(&ess[mi]);
        let (k1, _) = mean_sd(&at(mi, t1));
        let setting = format!(
            "{} (± {sd:.3}; KL at T = 1: {k1:.3}; reverse ESS at T = {}: {:.1}%)",
            m.label(),
            p.headline_t,
            100.0 * ess_m
        );
        table.push(setting, mean, "—", Verdict::Info);
    }
    let per_method: Vec<Vec<f64>> = (0..p.methods.len()).map(|mi| at(mi, ti)).collect();
    judge_pairs(&mut table, &p.methods, &per_method);
    Ok(table)
}
