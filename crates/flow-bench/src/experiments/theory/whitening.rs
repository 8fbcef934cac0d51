//! `whitening-depth`: whitening by coupling flows (arXiv 2210.14032), the non-standardness S
//! against depth for optimal linear blocks and trained affine-coupling flows.

use flow_core::train::TrainConfig;
use flow_core::{DType, Tensor};
use flow_data::digits::{Digits, Standardizer, dequantize};
use flow_theory::linalg::{
    covariance_with_spectrum, empirical_moments, gaussian_matrix, wishart_unit_diagonal,
};
use flow_theory::nalgebra::{DMatrix, DVector};
use flow_theory::stats::{mean, median, standard_error};
use flow_theory::volume::{
    Flow, FlowKind, build_flow, latent, linear_layer_matrix, mean_nll, train_nll,
};
use flow_theory::whitening::{
    SpectrumFamily, fit_rate, non_standardness, optimal_linear_block, rho_a, whiten_depth,
};
use rand::Rng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::common::{line, pick};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::plot::{Scale, Series};
use crate::validate::PresetLimit;

fn to_tensor(x: &DMatrix<f64>) -> Tensor {
    Tensor::from_vec(x.transpose().as_slice().to_vec(), &[x.nrows(), x.ncols()])
        .to_dtype(DType::F32)
}

/// S of the latent of `flow` on the rows of `x`: `½(‖m‖² + tr Σ − D − log det Σ)`.
fn latent_s(flow: &Flow, x: &Tensor) -> f64 {
    let z = latent(flow, x);
    let zm = DMatrix::from_row_slice(z.dim(0), z.dim(1), &z.to_vec_f64());
    let (m, c) = empirical_moments(&zm);
    non_standardness(&m, &c)
}

/// Preset of [`WhiteningDepth`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhiteningPreset {
    /// Dimensions of the Wishart sweep (d_a = D/2).
    pub dims: Vec<usize>,
    /// Wishart covariances per dimension.
    pub runs: usize,
    /// Blocks per run.
    pub blocks: usize,
    /// Runs per hard-spectrum family (D = 48, 16 blocks).
    pub family_runs: usize,
    /// Dimension and depths of the trained affine-coupling flows on Gaussian data.
    pub trained_dim: usize,
    /// Depths L of the trained flows.
    pub trained_depths: Vec<usize>,
    /// Adam steps per trained flow (batch 256, lr 1e-3).
    pub train_steps: usize,
}

/// `whitening-depth`: S against depth for optimal linear blocks and trained coupling flows.
pub struct WhiteningDepth;

impl Experiment for WhiteningDepth {
    /// A coupling split needs 1 ≤ d_a < D, so D ≥ 2.
    fn preset_limits(&self) -> &'static [PresetLimit] {
        &[
            PresetLimit {
                field: "dims",
                min: 2,
                max: crate::validate::MAX_COUNT,
            },
            PresetLimit {
                field: "trained_dim",
                min: 2,
                max: crate::validate::MAX_COUNT,
            },
        ]
    }
    fn id(&self) -> &'static str {
        "whitening-depth"
    }
    fn version(&self) -> u32 {
        3
    }
    fn paper(&self) -> PaperId {
        PaperId::Whitening
    }
    fn title(&self) -> &'static str {
        "Non-standardness S against depth"
    }
    fn claim(&self) -> &'static str {
        "Coupling blocks whiten: S decays geometrically in depth at a per-block rate ≤ ρ_A = 1 − 2 d_a d_p/((D−1)(D+2)), nearly independent of D; trained flows drive S to 0 while the non-Gaussianity G stays."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&WhiteningPreset {
            dims: pick(
                mode,
                vec![8, 16],
                vec![8, 16, 32, 64],
                vec![8, 16, 32, 48, 64],
            ),
            runs: pick(mode, 3, 10, 50),
            blocks: pick(mode, 10, 20, 32),
            family_runs: pick(mode, 1, 8, 64),
            trained_dim: pick(mode, 4, 8, 16),
            trained_depths: pick(mode, vec![1, 2], vec![1, 2, 4], vec![1, 2, 3, 4, 6, 8]),
            train_steps: pick(mode, 50, 600, 4000),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: WhiteningPreset = ctx.preset()?;
        ctx.set_work(
            (p.dims.len() + SpectrumFamily::ALL.len() + 2 * p.trained_depths.len()) as u64,
        );
        let mut rng = ctx.rng(0);
        let mut rates = Table::new(
            "Fitted per-block rate exp(slope of log S_l), l ≥ 2, mean ± SE over runs, vs the bound ρ_A",
            "D",
            "rate",
        );
        let mut series = Vec::new();
        for (i, &d) in p.dims.iter().enumerate() {
            let runs: Vec<Vec<f64>> = (0..p.runs)
                .map(|_| {
                    whiten_depth(
                        &wishart_unit_diagonal(d, &mut rng),
                        d / 2,
                        p.blocks,
                        &mut rng,
                    )
                    .s
                })
                .collect();
            let r: Vec<f64> = runs
                .iter()
                .filter_map(|s| fit_rate(s, 2, 1e-12))
                .map(|f| f.slope.exp())
                .collect();
            let (m, se) = (mean(&r), standard_error(&r));
            let rho = rho_a(d, d / 2);
            rates.push(
                format!("D = {d} (± {se:.3})"),
                m,
                format!("≤ {rho:.3}"),
                Verdict::check(m <= rho + 3.0 * se),
            );
            let med: Vec<(f64, f64)> = (0..=p.blocks)
                .map(|l| {
                    (
                        l as f64,
                        median(&runs.iter().map(|s| s[l]).collect::<Vec<_>>()),
                    )
                })
                .collect();
            let s0 = med[0].1;
            series.push(Series::solid(format!("D = {d}"), med, i));
            series.push(Series::dashed(
                format!("S₀ρ_A^l, D = {d}"),
                (0..=p.blocks)
                    .map(|l| (l as f64, s0 * rho.powi(l as i32)))
                    .collect(),
                i,
            ));
            ctx.step()?;
        }
        ctx.save_figure("whitening_depth.svg", "Median S after l optimal linear blocks (Wishart covariances, d_a = D/2); dashed: S₀·ρ_A^l", |path| {
            line("S vs depth", "blocks l", "S (nats)", Scale::Log, series).save_svg(path)
        })?;
        let mut fam = Table::new(
            "Hard spectra (D = 48, 16 blocks): late-phase rate (fit over l ≥ 8), median over runs",
            "family",
            "rate",
        );
        let mut fam_series = Vec::new();
        for (i, f) in SpectrumFamily::ALL.iter().enumerate() {
            let runs: Vec<Vec<f64>> = (0..p.family_runs)
                .map(|k| {
                    let ev = f.spectrum(48, k, p.family_runs, 1e-3, 1e3, &mut rng);
                    whiten_depth(&covariance_with_spectrum(&ev, &mut rng), 24, 16, &mut rng).s
                })
                .collect();
            let r: Vec<f64> = runs
                .iter()
                .filter_map(|s| fit_rate(s, 8, 1e-12))
                .map(|f| f.slope.exp())
                .collect();
            let rate = if r.is_empty() { f64::NAN } else { median(&r) };
            let monotone = runs
                .iter()
                .all(|s| s.windows(2).all(|w| w[1] <= w[0] + 1e-12));
            fam.push(
                f.label(),
                rate,
                format!("≤ {:.3}, monotone", rho_a(48, 24)),
                Verdict::check(monotone && rate <= rho_a(48, 24) + 0.03),
            );
            fam_series.push(Series::solid(
                f.label(),
                (0..=16)
                    .map(|l| {
                        (
                            l as f64,
                            median(&runs.iter().map(|s| s[l]).collect::<Vec<_>>()),
                        )
                    })
                    .collect(),
                i,
            ));
            ctx.step()?;
        }
        ctx.save_figure(
            "whitening_families.svg",
            "Median S against depth for the hard spectrum families (D = 48)",
            |path| {
                line(
                    "Hard spectra",
                    "blocks l",
                    "S (nats)",
                    Scale::Log,
                    fam_series,
                )
                .save_svg(path)
            },
        )?;
        // Trained affine-coupling flows (fixed random rotation per block) on N(0, Σ) and digits.
        let d = p.trained_dim;
        let cov = wishart_unit_diagonal(d, &mut rng);
        let chol = cov
            .clone()
            .cholesky()
            .expect("Wishart is positive definite")
            .l();
        let lin: Vec<f64> = (0..20)
            .map(|_| whiten_depth(&cov, d / 2, 8, &mut rng).s)
            .fold(vec![0.0; 9], |a, s| {
                a.iter().zip(s).map(|(x, y)| x + y / 20.0).collect()
            });
        let test = to_tensor(&(gaussian_matrix(20_000, d, &mut rng) * chol.transpose()));
        let mut trained = Table::new(
            &format!(
                "Trained affine coupling flows on N(0, Σ), D = {d}: S of the latent (20k test samples) vs the mean linear-block S_L"
            ),
            "L",
            "S_L",
        );
        let digits = Digits::vendored();
        let deq = dequantize(&digits, DType::F32, &mut rng);
        let xd = Standardizer::fit(&deq).transform(&deq);
        let mut dig = Table::new(
            "Trained affine coupling flows on standardised dequantised digits (D = 64): S of the latent and NLL (train set)",
            "L",
            "S_L",
        );
        for &l in &p.trained_depths {
            let flow = build_flow(FlowKind::Affine, d, l, &[64, 64], DType::F32, &mut rng);
            train_nll(
                &flow,
                |n, r: &mut Xoshiro256PlusPlus| {
                    to_tensor(&(gaussian_matrix(n, d, r) * chol.transpose()))
                },
                TrainConfig::new(p.train_steps as u64, 1e-3).with_seed(rng.next_u64()),
                256,
            )
            .map_err(|e| ExperimentError::Failed(e.to_string()))?;
            let s = latent_s(&flow, &test);
            if l == 1 {
                // Exact: rotation Q (layer 0), one coupling (active = second half), ActNorm.
                let q = linear_layer_matrix(&flow, 0);
                let out = optimal_linear_block(&cov, &q, d - d / 2);
                let pred = non_standardness(&DVector::zeros(d), &out);
                trained.push(
                    "L = 1 (flow's own rotation)",
                    s,
                    format!("optimal linear block {pred:.4}: within [−0.06, +10% + 0.02]"),
                    Verdict::check(s >= pred - 0.06 && s <= 1.1 * pred + 0.02),
                );
            } else {
                let pred = lin[l.min(8)];
                trained.push(
                    format!("L = {l}"),
                    s,
                    format!(
                        "Haar-mean linear block {pred:.4} (fixed rotations, no ActNorm between blocks: trend only)"
                    ),
                    Verdict::Info,
                );
            }
            ctx.step()?;
            let flow = build_flow(FlowKind::Affine, 64, l, &[128], DType::F32, &mut rng);
            let n = xd.dim(0);
            train_nll(
                &flow,
                |b, r: &mut Xoshiro256PlusPlus| {
                    let idx: Vec<usize> = (0..b)
                        .map(|_| rand::RngExt::random_range(r, 0..n))
                        .collect();
                    xd.index_select(0, &idx)
                },
                TrainConfig::new(p.train_steps as u64, 1e-3).with_seed(rng.next_u64()),
                256,
            )
            .map_err(|e| ExperimentError::Failed(e.to_string()))?;
            dig.push(
                format!("L = {l} (NLL {:.1})", mean_nll(&flow, &xd, 512)),
                latent_s(&flow, &xd),
                "→ 0 geometrically; NLL plateaus at G",
                Verdict::Info,
            );
            ctx.step()?;
        }
        Ok(Outcome { tables: vec![rates, fam, trained, dig], figures: vec![], notes: vec![
            "Covariance-level blocks: Σ' = N(blockdiag(Σ_pp, Σ_{a|p})) after a fresh Haar rotation (code empiric.py::apply_layer). Trained flows: flow-coupling affine couplings (clamp 2, ReLU subnets) after a fixed Haar rotation per block, Adam lr 1e-3, batch 256.".into(),
        ] })
    }
}
