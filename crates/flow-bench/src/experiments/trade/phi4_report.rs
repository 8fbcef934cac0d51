//! Tables and figures of `trade-phi4`: the reverse ESS versus κ judged per (baseline, TRADE)
//! pair, and TRADE's reweighted lattice observables against the HMC reference.

use flow_trade::Family;
use flow_trade::lattice::Phi4Observables;

use super::methods::{judge_pairs, mean_sd, range_flag};
use super::phi4::Phi4Preset;
use crate::context::RunContext;
use crate::experiment::{ExperimentError, Table, Verdict};
use crate::plot::{LinePlot, Scale, Series};

/// One trained flow's measurements, per evaluation κ.
#[derive(Clone, Debug, Default)]
pub struct PerRun {
    /// Relative reverse (Kish) ESS.
    pub ess: Vec<f64>,
    /// Reweighted observables.
    pub obs: Vec<Phi4Observables>,
    /// Their group standard errors.
    pub se: Vec<Phi4Observables>,
}

/// The HMC reference at one κ.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Observables.
    pub obs: Phi4Observables,
    /// Chain-group standard errors.
    pub se: Phi4Observables,
    /// Integrated autocorrelation time of `|m|` (in kept draws).
    pub tau_abs_m: f64,
    /// Kept draws (all chains).
    pub draws: usize,
}

/// Minimum effective reference draws `N/τ_int(|m|)` for the chain-group error to be
/// trusted: with 100 effective draws the relative error of a variance-type estimate (χ) is
/// about √(2/100) ≈ 14 %, below which the comparison would mostly test the reference.
const MIN_EFFECTIVE: f64 = 100.0;

/// The reverse ESS per method and κ (in the row text) and the claim per (baseline, TRADE)
/// pair at every κ ≠ κ₀: TRADE's ESS above the baseline's by more than 2 SE of the
/// difference of seed means.
pub fn ess_table(p: &Phi4Preset, fam: &Family, results: &[Vec<PerRun>]) -> Table {
    let mut table = Table::new(
        &format!(
            "Relative reverse ESS of {} flow samples per κ, mean ± sd over {} seeds (data only at κ₀ = {}); the claim is judged at every κ ≠ κ₀ per (baseline, TRADE) pair on 1 − ESS: pass where the baseline's mean exceeds TRADE's by more than 2 standard errors of the difference of seed means",
            p.flow_samples,
            p.seed_values.len(),
            p.kappa0
        ),
        "pair, κ",
        "ESS difference (TRADE − baseline)",
    );
    for (k, &kappa) in p.eval_kappas.iter().enumerate() {
        if (kappa - p.kappa0).abs() < 1e-12 {
            continue;
        }
        let deficit: Vec<Vec<f64>> = results
            .iter()
            .map(|rs| rs.iter().map(|r| 1.0 - r.ess[k]).collect())
            .collect();
        let mut pairs = Table::new("", "", "");
        judge_pairs(&mut pairs, &p.methods, &deficit);
        let summary: Vec<String> = p
            .methods
            .iter()
            .zip(results)
            .map(|(m, rs)| {
                let (mean, sd) = mean_sd(&rs.iter().map(|r| r.ess[k]).collect::<Vec<_>>());
                format!("{} {:.1}% ± {:.1}", m.label(), 100.0 * mean, 100.0 * sd)
            })
            .collect();
        for row in pairs.rows {
            table.push(
                format!(
                    "{}, κ = {kappa}{} (ESS: {})",
                    row.setting,
                    range_flag(fam, kappa),
                    summary.join("; ")
                ),
                row.ours,
                row.paper,
                row.verdict,
            );
        }
    }
    table
}

/// TRADE's reweighted observables (mean over seeds) against the HMC reference at every κ,
/// within 3 combined standard errors, and the reference's effective size.
pub fn observables_table(
    p: &Phi4Preset,
    fam: &Family,
    refs: &[Reference],
    results: &[Vec<PerRun>],
) -> Table {
    let mut table = Table::new(
        &format!(
            "Lattice observables of TRADE (importance-reweighted flow samples, mean over {} seeds) minus the HMC reference, per κ: pass within 3 combined standard errors, √(SE_flow² + SE_HMC²), with SE_flow the larger of the seed spread and the within-seed group error, over √seeds, and SE_HMC from independent chain groups; the reference itself must hold at least {MIN_EFFECTIVE} effective draws N/τ_int(|m|)",
            p.seed_values.len()
        ),
        "observable, κ",
        "TRADE − HMC",
    );
    let Some(ti) = p.methods.iter().position(|m| m.is_trade()) else {
        return table;
    };
    let s = p.seed_values.len() as f64;
    for (k, (&kappa, r)) in p.eval_kappas.iter().zip(refs).enumerate() {
        let n_eff = r.draws as f64 / r.tau_abs_m.max(1.0);
        table.push(
            format!(
                "HMC reference, κ = {kappa}: effective draws N/τ_int(|m|) (N = {}, τ = {:.2})",
                r.draws, r.tau_abs_m
            ),
            n_eff,
            format!("≥ {MIN_EFFECTIVE}"),
            Verdict::check(n_eff >= MIN_EFFECTIVE),
        );
        let runs = &results[ti];
        for q in 0..4 {
            let vals: Vec<f64> = runs.iter().map(|run| run.obs[k].to_array()[q]).collect();
            let ses: Vec<f64> = runs.iter().map(|run| run.se[k].to_array()[q]).collect();
            let (mean, sd) = mean_sd(&vals);
            let rms = (ses.iter().map(|e| e * e).sum::<f64>() / s).sqrt();
            let se_flow = sd.max(rms) / s.sqrt();
            let se_ref = r.se.to_array()[q];
            let band = 3.0 * (se_flow * se_flow + se_ref * se_ref).sqrt();
            let diff = mean - r.obs.to_array()[q];
            let ok = diff.is_finite() && diff.abs() < band;
            table.push(
                format!(
                    "{}, κ = {kappa}{} (TRADE {mean:.4}, HMC {:.4} ± {se_ref:.4})",
                    Phi4Observables::NAMES[q],
                    range_flag(fam, kappa),
                    r.obs.to_array()[q]
                ),
                diff,
                format!("|diff| < {band:.4}"),
                Verdict::check(ok),
            );
        }
    }
    table
}

/// ESS versus κ per method, and ⟨|m|⟩ and the Binder cumulant versus κ (every method's
/// reweighted estimate, mean over seeds, against HMC).
pub fn plots(
    ctx: &mut RunContext,
    p: &Phi4Preset,
    refs: &[Reference],
    results: &[Vec<PerRun>],
) -> Result<(), ExperimentError> {
    let per_method = |f: &dyn Fn(&PerRun, usize) -> f64| -> Vec<Series> {
        p.methods
            .iter()
            .zip(results)
            .enumerate()
            .map(|(mi, (m, rs))| {
                let pts = (0..p.eval_kappas.len())
                    .map(|k| {
                        let v: Vec<f64> = rs.iter().map(|r| f(r, k)).collect();
                        (p.eval_kappas[k], mean_sd(&v).0)
                    })
                    .collect();
                Series::solid(m.label(), pts, mi)
            })
            .collect()
    };
    let ess = per_method(&|r, k| r.ess[k].max(1e-4));
    save(
        ctx,
        "ess_vs_kappa.svg",
        "Relative reverse ESS vs κ (mean over seeds)",
        "reverse ESS",
        Scale::Log,
        ess,
    )?;
    for (q, file) in [(0, "abs_m_vs_kappa.svg"), (3, "binder_vs_kappa.svg")] {
        let mut series = per_method(&|r, k| r.obs[k].to_array()[q]);
        let truth = p
            .eval_kappas
            .iter()
            .zip(refs)
            .map(|(&c, r)| (c, r.obs.to_array()[q]))
            .collect();
        series.push(Series::dashed("HMC reference", truth, p.methods.len()));
        let name = Phi4Observables::NAMES[q];
        let caption = format!("{name} vs κ: reweighted flow samples (mean over seeds) and HMC");
        save(ctx, file, &caption, name, Scale::Linear, series)?;
    }
    Ok(())
}

fn save(
    ctx: &mut RunContext,
    file: &str,
    caption: &str,
    y_label: &str,
    y_scale: Scale,
    series: Vec<Series>,
) -> Result<(), ExperimentError> {
    let (title, y_label) = (caption.to_string(), y_label.to_string());
    ctx.save_figure(file, caption, |path| {
        LinePlot {
            title,
            x_label: "κ".into(),
            y_label,
            x_scale: Scale::Linear,
            y_scale,
            series,
        }
        .save_svg(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{Experiment, Mode};
    use crate::experiments::trade::TradePhi4;
    use flow_data::energy::Phi4Hopping;

    fn obs(v: f64) -> Phi4Observables {
        Phi4Observables {
            abs_m: v,
            action_density: v,
            chi: v,
            binder: v,
        }
    }

    fn setup() -> (Phi4Preset, Family, Vec<Reference>) {
        let p: Phi4Preset = serde_json::from_value(TradePhi4.preset(Mode::Test)).unwrap();
        let fam = Family::new(Box::new(Phi4Hopping::trade()), 0.27, 0.22, 0.32).unwrap();
        let refs = p
            .eval_kappas
            .iter()
            .map(|_| Reference {
                obs: obs(1.0),
                se: obs(0.01),
                tau_abs_m: 1.0,
                draws: 1000,
            })
            .collect();
        (p, fam, refs)
    }

    fn runs(p: &Phi4Preset, value: f64, ess: f64) -> Vec<PerRun> {
        p.seed_values
            .iter()
            .map(|&s| PerRun {
                ess: vec![ess + 1e-3 * s as f64; p.eval_kappas.len()],
                obs: vec![obs(value + 1e-3 * s as f64); p.eval_kappas.len()],
                se: vec![obs(0.01); p.eval_kappas.len()],
            })
            .collect()
    }

    /// The preset check refuses chain counts that do not split into whole groups.
    #[test]
    fn preset_check_is_typed() {
        let mut v = TradePhi4.preset(Mode::Quick);
        assert!(TradePhi4.check_preset(&v).is_ok());
        v["mcmc"]["chains"] = serde_json::json!(65);
        let e = TradePhi4.check_preset(&v).unwrap_err();
        assert_eq!(e.pointer, "/mcmc/chains");
        v["mcmc"]["chains"] = serde_json::json!(64);
        v["flow_samples"] = serde_json::json!(3);
        assert_eq!(
            TradePhi4.check_preset(&v).unwrap_err().pointer,
            "/flow_samples"
        );
    }

    /// Observables within the band pass, observables 1.0 off fail; the ESS claim passes only
    /// when TRADE's ESS is clearly higher.
    #[test]
    fn verdicts_can_fail() {
        let (p, fam, refs) = setup();
        let count = |t: &Table, v: Verdict| t.rows.iter().filter(|r| r.verdict == v).count();
        let good = vec![runs(&p, 1.0, 0.5), runs(&p, 1.0, 0.1)];
        let t = observables_table(&p, &fam, &refs, &good);
        assert_eq!(count(&t, Verdict::Fail), 0);
        assert_eq!(count(&t, Verdict::Pass), 5 * p.eval_kappas.len());
        let bad = vec![runs(&p, 2.0, 0.5), runs(&p, 1.0, 0.1)];
        let t = observables_table(&p, &fam, &refs, &bad);
        assert_eq!(count(&t, Verdict::Fail), 4 * p.eval_kappas.len());
        let e = ess_table(&p, &fam, &good);
        assert!(!e.rows.is_empty() && count(&e, Verdict::Fail) == 0);
        let swapped = vec![runs(&p, 1.0, 0.1), runs(&p, 1.0, 0.5)];
        let e = ess_table(&p, &fam, &swapped);
        assert_eq!(count(&e, Verdict::Pass), 0);
    }
}
