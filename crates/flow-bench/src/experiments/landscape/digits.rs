//! `landscape-digits-paths`: independently trained ReLU MLP minima on the 8×8 digits, the
//! minimum spanning tree of AutoNEB paths between them, the straight-path barrier against the
//! AutoNEB saddle (train and test), and the Hessian's flat directions beyond the symmetries
//! (arXiv 1803.00885; paper note QB-E4 and FULL-E5).

use flow_core::nn::Mlp;
use flow_landscape::classifier::{DigitsTask, TrainSettings, evaluate, relu_mlp, train_minimum};
use flow_landscape::{AutoNebConfig, FlatLayout, Mst, lazy_mst};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::common::pick;
use super::flatness::{analyse, flatness_rows};
use super::pairs::{PairResult, connect, load_json, save_json};
use super::report::{mst_rows, pair_figures, pair_rows, sweep_figure, sweep_row};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;

/// Mean MST saddle train loss of ResNet-20 on CIFAR-10 in the official code's evaluation
/// notebook (paper note §2.3).
pub(super) const RESNET20_SADDLE: f64 = 0.0324;

/// Preset of [`DigitsPaths`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigitsPreset {
    /// Hidden widths of each architecture (the sweep); the Hessian runs on the first.
    pub architectures: Vec<Vec<usize>>,
    /// Independently trained minima per architecture.
    pub minima: usize,
    /// Training images (the other 1797 − train are the test set).
    pub train: usize,
    /// Minimum training.
    pub training: TrainSettings,
    /// AutoNEB cycles after the first (which inserts 3 equal pivots).
    pub later_cycles: usize,
    /// NEB steps per cycle.
    pub neb_steps: usize,
    /// NEB learning rate (SGD, momentum 0.9).
    pub neb_lr: f64,
    /// NEB weight decay λ on the pivots.
    pub neb_weight_decay: f64,
    /// Minibatch per pivot and step (the official code); `None`: full-batch pivot gradients.
    pub neb_batch: Option<usize>,
    /// Sub-points per segment in the dense evaluation.
    pub subpoints: usize,
    /// Minima whose dense Hessian is analysed (first architecture).
    pub hessian_minima: usize,
    /// `|λ| ≤ rel_tol·λ_max` counts as zero.
    pub rel_tol: f64,
    /// Random directions for the Monte-Carlo check of the exact mean curvature.
    pub random_dirs: usize,
    /// Gaussian draws on the dense spectrum for the share of random directions flatter than
    /// the path chord.
    pub flat_share_draws: usize,
    /// Band: that share (+ 2 s.e.) ≤ this level α (the path direction is flatter than a
    /// random direction, rejected-at-α form of the comparison).
    pub flat_share_band: f64,
    /// Band: AutoNEB barrier ≤ this fraction of the straight-path barrier.
    pub barrier_ratio_band: f64,
    /// Band: saddle test error − mean end test error ≤ this (fraction).
    pub test_error_band: f64,
    /// Band: mean MST saddle train loss ≤ this fraction of the chance-level loss ln 10 (the
    /// official code's ResNet-20 MST saddles, 0.0324 / ln 10).
    pub saddle_chance_band: f64,
}

/// `landscape-digits-paths`.
pub struct DigitsPaths;

impl Experiment for DigitsPaths {
    fn id(&self) -> &'static str {
        "landscape-digits-paths"
    }
    fn version(&self) -> u32 {
        3
    }
    fn paper(&self) -> PaperId {
        PaperId::NoBarriers
    }
    fn title(&self) -> &'static str {
        "Digits MLP minima: AutoNEB paths are flat where straight paths are not; flat Hessian directions beyond the symmetries"
    }
    fn claim(&self) -> &'static str {
        "Independently trained minima are joined by AutoNEB paths whose train-loss barrier is a small fraction of the straight-path barrier and whose test error stays near the minima's; each minimum has near-zero Hessian eigenvalues beyond the ReLU-rescaling and softmax-shift symmetries, and the path direction is far flatter than a random direction."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&DigitsPreset {
            architectures: pick(
                mode,
                vec![vec![8]],
                vec![vec![16], vec![32]],
                vec![
                    vec![8],
                    vec![16],
                    vec![32],
                    vec![64],
                    vec![16, 16],
                    vec![32, 32],
                ],
            ),
            minima: pick(mode, 3, 3, 5),
            train: pick(mode, 200, 1000, 1000),
            training: TrainSettings {
                steps: pick(mode, 100, 1000, 4000),
                batch: 64,
                lr: 1e-2,
                polish_steps: pick(mode, 20, 300, 1000),
                weight_decay: 0.0,
            },
            later_cycles: pick(mode, 1, 3, 5),
            neb_steps: pick(mode, 20, 150, 500),
            neb_lr: 0.05,
            neb_weight_decay: 1e-4,
            neb_batch: pick(mode, Some(32), Some(128), Some(128)),
            subpoints: 9,
            hessian_minima: pick(mode, 1, 3, 5),
            rel_tol: 1e-4,
            random_dirs: pick(mode, 5, 20, 100),
            flat_share_draws: pick(mode, 2000, 20_000, 100_000),
            flat_share_band: 0.01,
            barrier_ratio_band: 0.2,
            test_error_band: 0.015,
            saddle_chance_band: RESNET20_SADDLE / std::f64::consts::LN_10,
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: DigitsPreset = ctx.preset()?;
        ctx.set_work((p.architectures.len() * (p.minima + p.minima - 1) + p.hessian_minima) as u64);
        let task = DigitsTask::new(p.train, ctx.rng(0).random::<u64>());
        let mut minima_table = Table::new(
            "Independently trained minima (full-batch train loss and test error)",
            "architecture, minimum",
            "train loss",
        );
        let mut pair_table = Table::new(
            "Pairs connected while building the minimum spanning tree: train-loss barrier (saddle − larger end loss) along the straight path and along AutoNEB, and the saddle's test error",
            "architecture, pair, quantity",
            "value",
        );
        let mut mst_table = Table::new(
            "Minimum spanning tree over the minima (edge weight = AutoNEB saddle train loss)",
            "architecture",
            "value",
        );
        let mut sweep = Vec::new();
        let mut first: Option<(Vec<Vec<f64>>, Vec<PairResult>)> = None;
        for (arch_i, hidden) in p.architectures.iter().enumerate() {
            let arch = arch_name(hidden);
            let (thetas, losses) = train_minima(ctx, &p, &task, arch_i, hidden, &mut minima_table)?;
            let mlp = relu_mlp(hidden, 0);
            let (tree, results) = connect_tree(ctx, &p, &task, &mlp, &thetas, &losses, arch_i)?;
            pair_rows(&mut pair_table, &arch, &results, &p);
            let n = FlatLayout::of(&mlp).len();
            sweep.push(mst_rows(
                &mut mst_table,
                &arch,
                &losses,
                &tree,
                &results,
                n,
                &p,
            ));
            if arch_i == 0 {
                first = Some((thetas, results));
            }
        }
        let (first_minima, first_pairs) = first.unwrap_or_default();
        pair_figures(ctx, &first_pairs)?;
        sweep_row(&mut mst_table, &sweep);
        sweep_figure(ctx, &sweep)?;
        let mut tables = vec![minima_table, pair_table, mst_table];
        let mut notes = vec![super::report::method_note(&p)];
        if p.hessian_minima > 0 && !first_minima.is_empty() {
            let mlp = relu_mlp(&p.architectures[0], 0);
            let (table, note) = hessian_table(ctx, &p, &task, &mlp, &first_minima, &first_pairs)?;
            tables.push(table);
            notes.push(note);
        }
        Ok(Outcome {
            tables,
            figures: vec![],
            notes,
        })
    }
}

/// `64-h1-…-10`.
fn arch_name(hidden: &[usize]) -> String {
    let h: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
    format!("64-{}-10", h.join("-"))
}

/// Trains `p.minima` networks from different seeds; returns their flat parameters and final
/// full-batch training losses, and adds one row per minimum.
fn train_minima(
    ctx: &mut RunContext,
    p: &DigitsPreset,
    task: &DigitsTask,
    arch_i: usize,
    hidden: &[usize],
    table: &mut Table,
) -> Result<(Vec<Vec<f64>>, Vec<f64>), ExperimentError> {
    let arch = arch_name(hidden);
    let (mut thetas, mut losses) = (Vec::new(), Vec::new());
    for m in 0..p.minima {
        ctx.set_message(format!("{arch}: training minimum {m}"));
        let file = ctx
            .work_dir()?
            .map(|d| d.join(format!("minimum-{arch}-{m}.json")));
        let seed = 1000 * arch_i as u64 + m as u64;
        let net = relu_mlp(hidden, seed);
        let saved: Option<(Vec<f64>, f64)> = file.as_deref().and_then(load_json);
        let (theta, loss) = match saved {
            Some(done) => done,
            None => {
                let loss = train_minimum(&net, &task.train, &p.training, seed)
                    .map_err(|e| ExperimentError::Failed(format!("{arch}, minimum {m}: {e}")))?;
                let done = (FlatLayout::of(&net).read(), loss);
                if let Some(f) = &file {
                    save_json(f, &done).map_err(ExperimentError::Failed)?;
                }
                done
            }
        };
        let (_, test_err) = evaluate(&net, &theta, &task.test);
        let label = format!("{arch}, minimum {m} (test error {:.2} %)", 100.0 * test_err);
        table.push(label, loss, "—", Verdict::Info);
        thetas.push(theta);
        losses.push(loss);
        ctx.step()?;
    }
    Ok((thetas, losses))
}

/// The exact MST over the minima, running AutoNEB for each pair it needs.
fn connect_tree(
    ctx: &mut RunContext,
    p: &DigitsPreset,
    task: &DigitsTask,
    mlp: &Mlp,
    thetas: &[Vec<f64>],
    losses: &[f64],
    arch_i: usize,
) -> Result<(Mst, Vec<PairResult>), ExperimentError> {
    let mut cfg = AutoNebConfig::standard(3, p.later_cycles, p.neb_steps, p.neb_lr);
    cfg.weight_decay = p.neb_weight_decay;
    cfg.subpoints = p.subpoints;
    let mut results: Vec<PairResult> = Vec::new();
    let arch = arch_name(&p.architectures[arch_i]);
    let tree = lazy_mst(losses, usize::MAX, |a, b| {
        ctx.set_message(format!("{arch}: AutoNEB {a}–{b}"));
        // Each pair has its own stream and its own saved result, so a resumed run computes
        // the same numbers as an uninterrupted one.
        let file = ctx
            .work_dir()?
            .map(|d| d.join(format!("pair-{arch}-{a}-{b}.json")));
        let r = match file.as_deref().and_then(load_json::<PairResult>) {
            Some(r) => r,
            None => {
                let mut rng = ctx.rng(1_000_000 * (arch_i as u64 + 1) + 1000 * a as u64 + b as u64);
                let ends = (thetas[a].as_slice(), thetas[b].as_slice());
                let r = connect(mlp, task, ends, (a, b), (&cfg, p.neb_batch), &mut rng)
                    .map_err(|e| ExperimentError::Failed(format!("{arch}, pair {a}–{b}: {e}")))?;
                if let Some(f) = &file {
                    save_json(f, &r).map_err(ExperimentError::Failed)?;
                }
                r
            }
        };
        let s = r.saddle;
        results.push(r);
        ctx.step()?;
        Ok::<_, ExperimentError>(s)
    })?;
    Ok((tree, results))
}

/// Dense-Hessian analysis at the first `p.hessian_minima` minima of the first architecture.
fn hessian_table(
    ctx: &mut RunContext,
    p: &DigitsPreset,
    task: &DigitsTask,
    mlp: &Mlp,
    minima: &[Vec<f64>],
    pairs: &[PairResult],
) -> Result<(Table, String), ExperimentError> {
    let mut rng = ctx.rng(99);
    let mut results = Vec::new();
    for (m, theta) in minima.iter().enumerate().take(p.hessian_minima) {
        ctx.set_message(format!("dense Hessian at minimum {m}"));
        // The chord from the minimum to the next pivot of an AutoNEB path leaving it (every
        // minimum is an end of some computed pair: the tree spans them all).
        let dir = pairs
            .iter()
            .find_map(|r| {
                let piv = &r.path.pivots;
                let k = piv.len();
                (r.a == m)
                    .then(|| sub(&piv[1], &piv[0]))
                    .or_else(|| (r.b == m).then(|| sub(&piv[k - 2], &piv[k - 1])))
            })
            .ok_or_else(|| ExperimentError::Failed(format!("no path leaves minimum {m}")))?;
        let f = analyse(
            mlp,
            task,
            theta,
            &dir,
            (p.random_dirs, p.flat_share_draws),
            p.rel_tol,
            &mut rng,
        );
        results.push(f);
        ctx.step()?;
    }
    flatness_rows(ctx, &results, p)
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}
