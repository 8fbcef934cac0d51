//! Tables and figures of the TRADE pages that do not depend on the target: the free-energy
//! curve by thermodynamic integration against quadrature, and forward KL per temperature.

use flow_trade::free_energy::trapezoid_log_z;

use super::methods::{Method, fail, mean_sd};
use crate::context::RunContext;
use crate::experiment::{ExperimentError, Table, Verdict};
use crate::plot::{LinePlot, Scale, Series};

/// `log Z(T) − log Z(1)` at the ends of TRADE's grid `fe = (cs, learned curve)`:
/// (i) the trapezoid rule over the exact `E_T[A]` (`ex_exact`) on the same grid, judged
/// against quadrature of `log Z` (`log_z`) within twice the Richardson estimate of its
/// `O(Δc²)` error (`(4/3)·(coarse − midpoint-refined)`); (ii) the trapezoid rule over TRADE's
/// learned table, judged within `0.05 + 0.05·|Δ log Z|` nats (an average relative error of the
/// learned `E_T[A]` of about 5 %).
pub fn free_energy_table(
    fe: Option<&(Vec<f64>, Vec<f64>)>,
    ex_exact: &dyn Fn(f64) -> f64,
    log_z: &dyn Fn(f64) -> f64,
) -> Result<Table, ExperimentError> {
    let mut table = Table::new(
        "log Z(T) − log Z(1) at the ends of TRADE's T grid: thermodynamic integration (trapezoid) over the exact E_T[A] (quadrature) and over TRADE's learned E_T[A] table, against quadrature of log Z",
        "estimator, T",
        "error (nats)",
    );
    let Some((cs, f)) = fe else {
        return Ok(table);
    };
    let base = cs
        .iter()
        .position(|&c| (c - 1.0).abs() < 1e-12)
        .ok_or_else(|| fail("T = 1 is not on the grid"))?;
    let ex: Vec<f64> = cs.iter().map(|&t| ex_exact(t)).collect();
    let coarse = trapezoid_log_z(cs, &ex, base);
    let mut fine_cs = Vec::with_capacity(2 * cs.len());
    let mut fine_ex = Vec::with_capacity(2 * cs.len());
    for k in 0..cs.len() {
        if k > 0 {
            let mid = 0.5 * (cs[k - 1] + cs[k]);
            fine_cs.push(mid);
            fine_ex.push(ex_exact(mid));
        }
        fine_cs.push(cs[k]);
        fine_ex.push(ex[k]);
    }
    let fine = trapezoid_log_z(&fine_cs, &fine_ex, 2 * base);
    let z1 = log_z(1.0);
    for k in [0, cs.len() - 1] {
        let truth = log_z(cs[k]) - z1;
        let est = 4.0 / 3.0 * (coarse[k] - fine[2 * k]);
        let band = 2.0 * est.abs() + 1e-6;
        table.push(
            format!(
                "exact E[A] + trapezoid, T = {:.4} ({} grid points; log-Z change {truth:.3})",
                cs[k],
                cs.len()
            ),
            coarse[k] - truth,
            format!("|err| < {band:.2e} (2 × Richardson O(Δc²) estimate)"),
            Verdict::check((coarse[k] - truth).abs() < band),
        );
        let band = 0.05 + 0.05 * truth.abs();
        table.push(
            format!("TRADE table + trapezoid, T = {:.4}", cs[k]),
            f[k] - truth,
            format!("|err| < {band:.3}"),
            Verdict::check((f[k] - truth).abs() < band),
        );
    }
    Ok(table)
}

/// Every seed's value of a per-temperature metric (`values[method][seed][t]`), one paragraph:
/// `"{what} per seed at T = t₀ / t₁ / …: Method: seed s v₀ / v₁ / …; seed …. Method: …"`.
/// The tables give the seed mean and sd only; a collapsed seed shows here by name.
pub fn per_seed_note(
    what: &str,
    methods: &[Method],
    seeds: &[u64],
    ts: &[f64],
    values: &[Vec<Vec<f64>>],
) -> String {
    let join = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let per_method = methods
        .iter()
        .zip(values)
        .map(|(m, runs)| {
            let rows = seeds
                .iter()
                .zip(runs)
                .map(|(s, r)| format!("seed {s} {}", join(r)))
                .collect::<Vec<_>>()
                .join("; ");
            format!("{}: {rows}.", m.label())
        })
        .collect::<Vec<_>>()
        .join(" ");
    format!("{what} per seed at T = {}: {per_method}", join(ts))
}

/// Forward KL per temperature, mean over seeds (`kl[method][seed][t]`), log-log axes.
pub fn plot_kl(
    ctx: &mut RunContext,
    methods: &[Method],
    ts: &[f64],
    kl: &[Vec<Vec<f64>>],
) -> Result<(), ExperimentError> {
    let floored: Vec<Vec<Vec<f64>>> = kl
        .iter()
        .map(|m| {
            m.iter()
                .map(|r| r.iter().map(|v| v.max(1e-4)).collect())
                .collect()
        })
        .collect();
    let plot = MetricPlot {
        file: "forward_kl_vs_t.svg",
        caption: "Forward KL per temperature (mean over seeds; data only at T = 1)",
        title: "Forward KL vs T",
        y_label: "KL(p_T ‖ q(·|T)) (nats)",
        y_scale: Scale::Log,
    };
    plot_metric_vs_t(ctx, &plot, methods, ts, &floored)
}

/// What [`plot_metric_vs_t`] draws.
pub struct MetricPlot {
    /// File name under the experiment's figure folder.
    pub file: &'static str,
    /// Caption on the page.
    pub caption: &'static str,
    /// Plot title.
    pub title: &'static str,
    /// Y-axis label.
    pub y_label: &'static str,
    /// Y-axis scale (the T axis is logarithmic).
    pub y_scale: Scale,
}

/// A per-temperature metric, mean over seeds (`values[method][seed][t]`), one line per
/// method, points sorted by T.
pub fn plot_metric_vs_t(
    ctx: &mut RunContext,
    plot: &MetricPlot,
    methods: &[Method],
    ts: &[f64],
    values: &[Vec<Vec<f64>>],
) -> Result<(), ExperimentError> {
    let series: Vec<Series> = methods
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let mut pts: Vec<(f64, f64)> = ts
                .iter()
                .enumerate()
                .map(|(ti, &t)| {
                    let v: Vec<f64> = values[mi].iter().map(|r| r[ti]).collect();
                    (t, mean_sd(&v).0)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series::solid(m.label(), pts, mi)
        })
        .collect();
    let (title, y_label, y_scale) = (plot.title.into(), plot.y_label.into(), plot.y_scale);
    ctx.save_figure(plot.file, plot.caption, |path| {
        LinePlot {
            title,
            x_label: "T".into(),
            y_label,
            x_scale: Scale::Log,
            y_scale,
            series,
        }
        .save_svg(path)
    })
}

/// The learned free-energy curve against quadrature.
pub fn plot_free_energy(
    ctx: &mut RunContext,
    cs: &[f64],
    f: &[f64],
    log_z: &dyn Fn(f64) -> f64,
) -> Result<(), ExperimentError> {
    let learned: Vec<(f64, f64)> = cs.iter().zip(f).map(|(&c, &v)| (c, v)).collect();
    let z1 = log_z(1.0);
    let truth: Vec<(f64, f64)> = cs.iter().map(|&c| (c, log_z(c) - z1)).collect();
    ctx.save_figure(
        "free_energy.svg",
        "log Z(T) − log Z(1): thermodynamic integration over TRADE's E_T[A] table vs quadrature",
        |path| {
            LinePlot {
                title: "Free-energy curve".into(),
                x_label: "T".into(),
                y_label: "log Z(T) − log Z(1)".into(),
                x_scale: Scale::Log,
                y_scale: Scale::Linear,
                series: vec![
                    Series::solid("TRADE (TI)", learned, 0),
                    Series::dashed("quadrature", truth, 1),
                ],
            }
            .save_svg(path)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_seed_note_names_every_seed_and_value_in_order() {
        let kl = vec![
            vec![vec![1.5, 0.25], vec![938.0, 0.5]],
            vec![vec![2.0, 0.125], vec![3.0, 0.0625]],
        ];
        let note = per_seed_note(
            "Forward KL (nats)",
            &[Method::Trade, Method::NllLatentScaling],
            &[4, 7],
            &[0.2, 1.0],
            &kl,
        );
        let want = format!(
            "Forward KL (nats) per seed at T = 0.2000 / 1.0000: {}: seed 4 1.5000 / 0.2500; seed 7 938.0000 / 0.5000. {}: seed 4 2.0000 / 0.1250; seed 7 3.0000 / 0.0625.",
            Method::Trade.label(),
            Method::NllLatentScaling.label()
        );
        assert_eq!(note, want);
    }
}
