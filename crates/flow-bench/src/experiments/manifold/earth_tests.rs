//! `mfff-earth` in `Mode::Test`: each finished set is stored at once and reused by a rerun,
//! the sets not run are stated as such, a stored checkpoint evaluates to the numbers of the
//! run that wrote it, and the v4 full run's checkpoint fits the current full-preset model.

use flow_core::nn::Module;
use flow_manifold::{BaseSpec, ManifoldSpec};

use super::MfffEarth;
use super::common::build_flow;
use super::earth::EarthPreset;
use crate::context::RunContext;
use crate::experiment::{Experiment, Mode, Outcome, Verdict};

fn run(preset: serde_json::Value, dir: &std::path::Path) -> Outcome {
    let mut ctx = RunContext::for_test(preset, dir);
    MfffEarth.run(&mut ctx).unwrap()
}

fn volcano_nll(out: &Outcome) -> (String, f64) {
    let r = &out.tables[0].rows[0];
    assert!(r.setting.starts_with("Volcano (n_test"), "{}", r.setting);
    (r.setting.clone(), r.ours)
}

#[test]
fn a_finished_set_is_stored_reused_and_the_others_are_stated_as_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(MfffEarth.preset(Mode::Test), dir.path());
    let rows = &first.tables[0].rows;
    // Volcano: test NLL, ∫ p dA (decoder, encoder, the rule on the base), reconstruction,
    // encoder − decoder; then three "not run" rows.
    assert_eq!(rows.len(), 6 + 3);
    for (r, set) in rows[6..].iter().zip(["Earthquake", "Flood", "Fire"]) {
        assert_eq!(r.setting, format!("{set}: not run"));
        assert!(r.ours.is_nan() && r.verdict == Verdict::Info);
        assert!(
            r.paper.contains("not in this preset's `sets`"),
            "{}",
            r.paper
        );
    }
    assert!(rows[..6].iter().all(|r| r.ours.is_finite()));
    // The stored result is what a rerun reports: overwrite its NLL and the page follows.
    let stored = dir.path().join("work/Volcano.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    json["nll"][0] = serde_json::json!(123.25);
    std::fs::write(&stored, json.to_string()).unwrap();
    let again = run(MfffEarth.preset(Mode::Test), dir.path());
    assert_eq!(volcano_nll(&again).1, 123.25, "the rerun trained nothing");
    for (a, b) in again.tables[0].rows.iter().zip(rows).skip(1) {
        assert_eq!(
            (&a.setting, a.ours.to_bits()),
            (&b.setting, b.ours.to_bits())
        );
    }
}

#[test]
fn a_stored_checkpoint_evaluates_to_the_numbers_of_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let trained = run(MfffEarth.preset(Mode::Test), dir.path());
    let copy = dir.path().join("copy.safetensors");
    std::fs::copy(dir.path().join("work/Volcano.safetensors"), &copy).unwrap();
    let mut preset = MfffEarth.preset(Mode::Test);
    preset["checkpoints"] = serde_json::json!([{"set": "Volcano", "path": copy}]);
    let other = tempfile::tempdir().unwrap();
    let loaded = run(preset.clone(), other.path());
    let (label, nll) = volcano_nll(&loaded);
    assert_eq!(nll, volcano_nll(&trained).1);
    assert!(
        label.ends_with("[stored checkpoint at step 10 of 10]"),
        "{label}"
    );
    for (a, b) in loaded.tables[0]
        .rows
        .iter()
        .zip(&trained.tables[0].rows)
        .skip(1)
    {
        assert_eq!((a.ours.to_bits(), a.verdict), (b.ours.to_bits(), b.verdict));
    }
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("not trained by this page"))
    );
    // A checkpoint for a set the preset does not run is a preset error.
    preset["checkpoints"] = serde_json::json!([{"set": "Fire", "path": copy}]);
    let mut ctx = RunContext::for_test(preset, tempfile::tempdir().unwrap().path());
    let e = MfffEarth.run(&mut ctx).unwrap_err();
    assert!(e.to_string().contains("not in `sets`"), "{e}");
}

/// The model tensors of the v4 full run's checkpoint
/// (`/tmp/manifold-full/work/mfff-earth-37afaa32f69be9fe-seed0/Volcano.safetensors`, commit
/// `4d15c59`, read from its safetensors header on 2026-12-06): the base's three tensors, then
/// per network 4 blocks of three linear layers 3 → 256 → 256 → 3, all f64.
fn v4_tensors() -> Vec<(String, Vec<usize>)> {
    let mut v = vec![
        ("base.loc".to_string(), vec![5, 3]),
        ("base.log_kappa".to_string(), vec![5]),
        ("base.logits".to_string(), vec![5]),
    ];
    for net in ["dec", "enc"] {
        for b in 0..4 {
            for (l, (out, inp)) in [(256, 3), (256, 256), (3, 256)].into_iter().enumerate() {
                let stem = format!("{net}.blocks.{b}.layers.{l}");
                v.push((format!("{stem}.bias"), vec![out]));
                v.push((format!("{stem}.weight"), vec![out, inp]));
            }
        }
    }
    v
}

#[test]
fn the_v4_full_checkpoint_fits_the_current_full_model() {
    let p: EarthPreset = serde_json::from_value(MfffEarth.preset(Mode::Full)).unwrap();
    let mut rng = rand::SeedableRng::seed_from_u64(0);
    let rng: &mut rand::rngs::Xoshiro256PlusPlus = &mut rng;
    let flow = build_flow(
        ManifoldSpec::Sphere { n: 2 },
        &p.net,
        BaseSpec::VmfMixture { modes: p.modes },
        rng,
    );
    let mut ours: Vec<(String, Vec<usize>)> = flow
        .parameters()
        .iter()
        .map(|q| {
            assert_eq!(q.get().dtype(), flow_core::DType::F64);
            (q.name().to_string(), q.shape())
        })
        .collect();
    ours.sort();
    assert_eq!(ours, v4_tensors());
}
