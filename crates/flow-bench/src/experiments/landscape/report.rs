//! Tables, figures and the method note of `landscape-digits-paths`.

use super::digits::DigitsPreset;
use super::flatness::Flatness;
use super::pairs::PairResult;
use flow_landscape::Mst;

use crate::context::RunContext;
use crate::experiment::{ExperimentError, Table, Verdict};
use crate::plot::{LinePlot, Scale, Series};

/// Rows per connected pair: straight and AutoNEB barriers, their ratio (verdict), and the
/// saddle test error against the ends' (verdict).
pub(super) fn pair_rows(table: &mut Table, arch: &str, pairs: &[PairResult], p: &DigitsPreset) {
    for r in pairs {
        let tag = format!("{arch}, {}–{}", r.a, r.b);
        let lin = r.linear.train_loss.barrier();
        let neb = r.neb.train_loss.barrier();
        table.push(
            format!("{tag}: straight-path barrier (train loss)"),
            lin,
            "large",
            Verdict::Info,
        );
        table.push(
            format!(
                "{tag}: AutoNEB barrier (train loss; saddle {:.4})",
                r.neb.train_loss.saddle()
            ),
            neb,
            "—",
            Verdict::Info,
        );
        let ratio = neb / lin;
        table.push(
            format!("{tag}: AutoNEB / straight barrier"),
            ratio,
            format!("≤ {}", p.barrier_ratio_band),
            Verdict::check(ratio <= p.barrier_ratio_band),
        );
        table.push(
            format!("{tag}: straight-path test-loss barrier"),
            r.linear.test_loss.barrier(),
            "—",
            Verdict::Info,
        );
        table.push(
            format!("{tag}: AutoNEB test-loss barrier"),
            r.neb.test_loss.barrier(),
            "—",
            Verdict::Info,
        );
        let ends = 0.5 * (r.neb.test_err[0] + r.neb.test_err[r.neb.test_err.len() - 1]);
        let rise = r.neb.max_test_err() - ends;
        table.push(
            format!(
                "{tag}: AutoNEB max test error − ends' mean (straight path: {:.4})",
                r.linear.max_test_err() - ends
            ),
            rise,
            format!("≤ {}", p.test_error_band),
            Verdict::check(rise <= p.test_error_band),
        );
    }
}

/// Rows summarising one architecture's tree; returns `(parameters, mean straight barrier,
/// mean AutoNEB barrier)` for the sweep figure.
pub(super) fn mst_rows(
    table: &mut Table,
    arch: &str,
    losses: &[f64],
    tree: &Mst,
    pairs: &[PairResult],
    parameters: usize,
) -> (f64, f64, f64) {
    let mean = |v: &mut dyn Iterator<Item = f64>, n: usize| v.sum::<f64>() / n.max(1) as f64;
    let mean_min = mean(&mut losses.iter().copied(), losses.len());
    let mean_saddle = mean(&mut tree.edges.iter().map(|e| e.weight), tree.edges.len());
    let all_pairs = losses.len() * losses.len().saturating_sub(1) / 2;
    let lin_b = mean(
        &mut pairs.iter().map(|r| r.linear.train_loss.barrier()),
        pairs.len(),
    );
    let neb_b = mean(
        &mut pairs.iter().map(|r| r.neb.train_loss.barrier()),
        pairs.len(),
    );
    let computed = format!(
        "{} of {all_pairs} pairs computed, exact = {}",
        tree.evaluated.len(),
        tree.exact
    );
    for (what, value, paper) in [
        (
            "mean minimum train loss".to_string(),
            mean_min,
            "ResNet-20 reference: 0.0162",
        ),
        (
            format!("mean MST saddle train loss ({computed})"),
            mean_saddle,
            "ResNet-20 reference: 0.0324",
        ),
        (
            "mean MST saddle / mean minimum train loss".to_string(),
            mean_saddle / mean_min,
            "ResNet-20 reference: 2.0",
        ),
        ("parameters".to_string(), parameters as f64, "—"),
        (
            "mean straight-path barrier over computed pairs".to_string(),
            lin_b,
            "—",
        ),
        (
            "mean AutoNEB barrier over computed pairs".to_string(),
            neb_b,
            "shrinks with size (paper, unconfirmed)",
        ),
    ] {
        table.push(format!("{arch}: {what}"), value, paper, Verdict::Info);
    }
    (parameters as f64, lin_b, neb_b)
}

fn curve(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    xs.iter().copied().zip(ys.iter().copied()).collect()
}

/// Loss and error along the straight and AutoNEB paths of the first pair.
pub(super) fn pair_figures(
    ctx: &mut RunContext,
    pairs: &[PairResult],
) -> Result<(), ExperimentError> {
    let Some(r) = pairs.first() else {
        return Ok(());
    };
    let (lin, neb) = (&r.linear, &r.neb);
    let series_loss = vec![
        Series::dashed(
            "straight, train",
            curve(&lin.train_loss.position, &lin.train_loss.values),
            0,
        ),
        Series::dashed(
            "straight, test",
            curve(&lin.test_loss.position, &lin.test_loss.values),
            1,
        ),
        Series::solid(
            "AutoNEB, train",
            curve(&neb.train_loss.position, &neb.train_loss.values),
            0,
        ),
        Series::solid(
            "AutoNEB, test",
            curve(&neb.test_loss.position, &neb.test_loss.values),
            1,
        ),
    ];
    let series_err = vec![
        Series::dashed(
            "straight, train",
            curve(&lin.train_loss.position, &lin.train_err),
            0,
        ),
        Series::dashed(
            "straight, test",
            curve(&lin.test_loss.position, &lin.test_err),
            1,
        ),
        Series::solid(
            "AutoNEB, train",
            curve(&neb.train_loss.position, &neb.train_err),
            0,
        ),
        Series::solid(
            "AutoNEB, test",
            curve(&neb.test_loss.position, &neb.test_err),
            1,
        ),
    ];
    for (file, what, scale, series) in [
        ("path_loss.svg", "cross-entropy", Scale::Log, series_loss),
        ("path_error.svg", "error rate", Scale::Linear, series_err),
    ] {
        let plot = LinePlot {
            title: format!("Minima {}–{}: {what} along the paths", r.a, r.b),
            x_label: "position along the path (arc length)".into(),
            y_label: what.into(),
            x_scale: Scale::Linear,
            y_scale: scale,
            series,
        };
        ctx.save_figure(file, format!("Train and test {what} along the straight path (dashed) and the AutoNEB path (solid) between minima {} and {}, pivots plus sub-points", r.a, r.b), |path| plot.save_svg(path))?;
    }
    Ok(())
}

/// The Hessian table (near-zero counts beyond symmetries, curvature ratio) and the spectrum
/// figure.
pub(super) fn flatness_rows(
    ctx: &mut RunContext,
    results: &[Flatness],
    p: &DigitsPreset,
) -> Result<Table, ExperimentError> {
    let mut t = Table::new(
        "Dense Hessian of the training loss at minima of the first architecture, after projecting out the symmetry directions",
        "minimum, quantity",
        "value",
    );
    let mut series = Vec::new();
    for (m, f) in results.iter().enumerate() {
        let c = &f.count;
        t.push(
            format!(
                "{m}: λ_max of PHP (‖∇L‖ = {:.2e}, asymmetry {:.1e})",
                f.grad_norm, f.asymmetry
            ),
            c.lambda_max,
            "—",
            Verdict::Info,
        );
        t.push(
            format!("{m}: symmetry directions removed (rank)"),
            c.symmetry_rank as f64,
            "—",
            Verdict::Info,
        );
        t.push(
            format!(
                "{m}: |λ| ≤ {:.0e}·λ_max beyond the symmetries (of {})",
                c.rel_tol,
                c.eigenvalues.len() - c.symmetry_rank
            ),
            c.beyond_symmetries() as f64,
            "≥ 1",
            Verdict::check(c.beyond_symmetries() >= 1),
        );
        let ratio = f.path_curvature / f.random_curvature;
        t.push(
            format!("{m}: curvature along the path chord / mean over {} random directions (path {:.3e}, random {:.3e})", p.random_dirs, f.path_curvature, f.random_curvature),
            ratio,
            format!("≤ {}", p.curvature_ratio_band),
            Verdict::check(ratio <= p.curvature_ratio_band),
        );
        let (top, bottom) = f.ritz;
        let ev = &c.eigenvalues;
        let (dmax, dmin) = (ev[ev.len() - 1], ev[0]);
        let scale = c.lambda_max;
        let top_err = (top - dmax).abs() / scale;
        t.push(
            format!(
                "{m}: Lanczos ({} steps) largest Ritz value vs dense, |Δ|/λ_max",
                f.lanczos_steps
            ),
            top_err,
            "≤ 1e-6 (extreme eigenvalues converge first)",
            Verdict::check(top_err <= 1e-6),
        );
        // Ritz values interlace the spectrum, so the smallest cannot go below λ_min; with a
        // cluster of hundreds of near-zero eigenvalues one Krylov vector reaches the cluster
        // but cannot resolve its members.
        t.push(
            format!(
                "{m}: smallest Ritz value / λ_max (dense λ_min/λ_max = {:.2e})",
                dmin / scale
            ),
            bottom / scale,
            format!("in [λ_min/λ_max − 1e-6, {:.0e}]", c.rel_tol),
            Verdict::check(bottom >= dmin - 1e-6 * scale && bottom <= c.rel_tol * scale),
        );
        let mut abs: Vec<f64> = c.eigenvalues.iter().map(|x| x.abs().max(1e-16)).collect();
        abs.sort_by(f64::total_cmp);
        series.push(Series::solid(
            format!("minimum {m}"),
            abs.iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect(),
            m,
        ));
    }
    if let Some(f) = results.first() {
        let tol = f.count.rel_tol * f.count.lambda_max;
        let n = f.count.eigenvalues.len() as f64;
        series.push(Series::dashed(
            "zero threshold",
            vec![(0.0, tol), (n, tol)],
            6,
        ));
    }
    let plot = LinePlot {
        title: "Hessian spectrum |λ| of PHP, ascending".into(),
        x_label: "index".into(),
        y_label: "|λ|".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        series,
    };
    ctx.save_figure("hessian_spectrum.svg", "Sorted |eigenvalues| of the symmetry-projected Hessian PHP at the minima (floored at 1e-16); dashed: the near-zero threshold rel_tol·λ_max. The first `rank` values are the projected-out symmetry directions.", |path| plot.save_svg(path))?;
    Ok(t)
}

/// The method paragraph, generated from the preset.
pub(super) fn method_note(p: &DigitsPreset) -> String {
    let s = &p.training;
    format!(
        "Data: UCI 8×8 digits (pixels/16), {} training images, the other {} for testing. Minima: ReLU MLPs (PyTorch-default init, seeds differ per minimum), Adam lr {} batch {} for {} steps, then {} full-batch Adam steps at lr {}; weight decay {}. Paths: AutoNEB on the training cross-entropy ({}), cycle 1 inserts 3 equal pivots, then {} cycles insert ≤ 2 by `highest` (threshold 0.1); {} SGD steps per cycle, lr {}, momentum 0.9, NEB weight decay {}, infinite spring (arc-length re-spacing), H&J improved tangent; {} sub-points per segment in the dense evaluation (full batch). The tree is the exact MST of saddle train losses (`lazy_mst`: star from the best minimum, then only pairs the cut property needs). Bands: AutoNEB/straight barrier ≤ {} (the paper calls the paths essentially flat; a barrier five times smaller than the straight one is our operational reading), saddle test error within {} of the ends (the note's 1.5 points), curvature along the first path chord ≤ {} of the random-direction mean (the note's suggestion). Hessian: dense, from one exact reverse-over-reverse HVP per basis vector, symmetrised; ReLU rescaling (one per hidden unit) and softmax shift (last hidden width + 1) directions orthonormalised and projected out; |λ| ≤ {:.0e}·λ_max counts as zero.",
        p.train,
        1797 - p.train,
        s.lr,
        s.batch,
        s.steps,
        s.polish_steps,
        s.lr / 10.0,
        s.weight_decay,
        match p.neb_batch {
            Some(b) => format!("one minibatch of {b} per pivot and step, as in the official code"),
            None =>
                "full-batch pivot gradients; the official code uses one minibatch per pivot".into(),
        },
        p.later_cycles,
        p.neb_steps,
        p.neb_lr,
        p.neb_weight_decay,
        p.subpoints,
        p.barrier_ratio_band,
        p.test_error_band,
        p.curvature_ratio_band,
        p.rel_tol
    )
}

/// Mean straight and AutoNEB barriers against the parameter count (the width/depth sweep).
pub(super) fn sweep_figure(
    ctx: &mut RunContext,
    sweep: &[(f64, f64, f64)],
) -> Result<(), ExperimentError> {
    if sweep.len() < 2 {
        return Ok(());
    }
    let mut pts = sweep.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let plot = LinePlot {
        title: "Barrier against network size".into(),
        x_label: "parameters".into(),
        y_label: "mean train-loss barrier".into(),
        x_scale: Scale::Log,
        y_scale: Scale::Log,
        series: vec![
            Series::dashed("straight path", pts.iter().map(|p| (p.0, p.1)).collect(), 0),
            Series::solid(
                "AutoNEB",
                pts.iter().map(|p| (p.0, p.2.max(1e-8))).collect(),
                2,
            ),
        ],
    };
    ctx.save_figure("barrier_sweep.svg", "Mean train-loss barrier over the computed pairs against the parameter count of each architecture (AutoNEB barriers floored at 1e-8 for the log axis)", |path| plot.save_svg(path))
}
