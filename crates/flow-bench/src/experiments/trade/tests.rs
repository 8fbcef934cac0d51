//! Smoke tests of the TRADE pages in `Mode::Test`: the two-moons page runs and judges every
//! row, and the multi-well page stores every (method, seed) result so that a rerun in the
//! same work folder trains nothing and reproduces the page; and the shape of the presets.

use super::{TradeMultiWell, TradeTwoMoons};
use crate::context::RunContext;
use crate::experiment::{Experiment, Mode, Outcome, Verdict};

fn run(exp: &dyn Experiment, dir: &std::path::Path) -> Outcome {
    let mut ctx = RunContext::for_test(exp.preset(Mode::Test), dir);
    exp.run(&mut ctx).unwrap()
}

#[test]
fn two_moons_runs_and_judges_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&TradeTwoMoons, dir.path());
    let rows: Vec<_> = out.tables.iter().flat_map(|t| &t.rows).collect();
    // Three calibration rows (β = 0.5, 1, 2) and one claim row at each β ≠ 1.
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r.verdict != Verdict::Info && r.ours.is_finite())
    );
    assert!(dir.path().join("figures/coverage.svg").exists());
}

#[test]
fn multiwell_stores_every_run_and_resumes_without_training() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&TradeMultiWell, dir.path());
    let stored = std::fs::read_dir(dir.path().join("work"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    let preset: serde_json::Value = TradeMultiWell.preset(Mode::Test);
    let runs = preset["methods"].as_array().unwrap().len()
        * preset["seed_values"].as_array().unwrap().len();
    assert_eq!(stored, runs, "one stored result per (method, seed)");
    let second = run(&TradeMultiWell, dir.path());
    let values = |o: &Outcome| -> Vec<f64> {
        o.tables
            .iter()
            .flat_map(|t| &t.rows)
            .map(|r| r.ours)
            .collect()
    };
    assert_eq!(values(&first), values(&second));
}

/// The GMM-6 page conditions on β with latent N(0, I/β); a latent that does not match the
/// parameter is a typed preset error.
#[test]
fn gmm6_latent_must_match_the_parameter() {
    use super::TradeGmm6;
    let mut preset = TradeGmm6.preset(Mode::Quick);
    assert!(TradeGmm6.check_preset(&preset).is_ok());
    preset["budget"]["latent"] = serde_json::json!("Temperature");
    let err = TradeGmm6.check_preset(&preset).unwrap_err();
    assert_eq!(err.pointer, "/budget/latent");
    preset["condition_on_beta"] = serde_json::json!(false);
    assert!(TradeGmm6.check_preset(&preset).is_ok());
}

/// The shared `methods::Training` is flattened into the budget and the two-moons preset: its
/// keys stay where the flat structs had them, so preset hashes and `--set` paths such as
/// `trade-gmm6:/budget/steps` are unchanged, and a preset reads back to itself.
#[test]
fn training_keys_stay_flat_and_presets_round_trip() {
    use super::TradeGmm6;
    use super::gmm6::Gmm6Preset;
    use super::two_moons::TwoMoonsPreset;
    let gmm = TradeGmm6.preset(Mode::Quick);
    assert_eq!(gmm["budget"]["steps"], serde_json::json!(250));
    assert!(gmm["budget"].get("training").is_none());
    let back: Gmm6Preset = serde_json::from_value(gmm.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), gmm);
    let moons = TradeTwoMoons.preset(Mode::Quick);
    assert_eq!(moons["steps"], serde_json::json!(400));
    assert_eq!(moons["hidden"], serde_json::json!([32, 32]));
    assert!(moons.get("training").is_none());
    let back: TwoMoonsPreset = serde_json::from_value(moons.clone()).unwrap();
    assert_eq!(back.training.steps, 400);
    assert_eq!(serde_json::to_value(&back).unwrap(), moons);
}
