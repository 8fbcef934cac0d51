//! Issue 20: bad presets give a typed error before anything runs, the cache checks each entry
//! against its key and its figures, the output folder is locked, `--out` must be a folder and
//! `flows reference --samples 0` is refused.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_bench::cache::{self, ResultKey};
use flow_bench::experiment::Experiment;
use flow_bench::lock::LOCK_FILE;
use flow_bench::overrides::{self, PresetOverride};
use flow_bench::registry::registry;
use flow_bench::validate::{self, PresetError};
use flow_bench::{BenchError, Mode, RunOptions, reproduce};

fn options(out: &Path, experiments: &[&str], seed: u64, sets: &[&str]) -> RunOptions {
    RunOptions {
        papers: Vec::new(),
        experiments: experiments.iter().map(|s| s.to_string()).collect(),
        mode: Mode::Test,
        seed,
        out: out.to_path_buf(),
        threads: 1,
        redo: false,
        progress: false,
        overrides: sets.iter().map(|s| s.parse().unwrap()).collect(),
    }
}

fn run(opts: &RunOptions) -> Result<flow_bench::RunSummary, BenchError> {
    reproduce(opts, Arc::new(AtomicBool::new(false)))
}

/// The preset error of one `--set`, checked as `reproduce` checks it, with `memory` bytes.
fn preset_error(set: &str, memory: u64) -> PresetError {
    let o: PresetOverride = set.parse().unwrap();
    let all = registry();
    let exp = all.iter().find(|e| e.id() == o.experiment).unwrap();
    let preset = overrides::resolved_preset(exp.as_ref(), Mode::Test, std::slice::from_ref(&o))
        .unwrap_or_else(|e| panic!("{set} does not apply: {e}"));
    validate::check(exp.as_ref(), &preset, memory).expect_err(set)
}

const GIB: u64 = 1 << 30;

#[test]
fn every_command_of_the_issue_gets_a_typed_preset_error() {
    let cases = [
        (
            "data-gallery:/toys/2/EightGaussians/sigma=0",
            "/toys/2/EightGaussians/sigma",
        ),
        ("data-gallery:/samples=18446744073709551615", "/samples"),
        ("fff-toys:/moons/net/batch=0", "/moons/net/batch"),
        ("fff-toys:/test=0", "/test"),
        ("data-gallery:/grid=200000", "/grid"),
        ("data-gallery:/samples=1000000000", "/samples"),
        ("data-gallery:/samples=0", "/samples"),
        ("data-gallery:/grid=0", "/grid"),
        ("data-gallery:/tolerance=-0.1", "/tolerance"),
        (
            "data-gallery:/toys/0/TwoMoons/noise=-1",
            "/toys/0/TwoMoons/noise",
        ),
        ("fff-toys:/moons/net/lr=-0.001", "/moons/net/lr"),
        ("fff-toys:/moons/net/steps=0", "/moons/net/steps"),
        ("fff-toys:/moons/net/blocks=0", "/moons/net/blocks"),
        ("data-gallery:/toys=[]", "/toys"),
        ("fff-toys:/moons/net/steps=1.5", "/moons/net/steps"),
        (
            r#"fff-toys:/moons/net={"batch":64,"beta":100.0,"blocks":1,"hidden":[16],"lr":0.001,"steps":20,"stpes":5}"#,
            "/moons/net/stpes",
        ),
        ("fff-egnn-boltzmann:/0/test=1", "/0/eval"),
        (
            "reject-dg-vs-erm:/base/mild_degrees=0.0",
            "/base/mild_degrees",
        ),
        (
            "reject-open-world:/base/protocol/open_fraction=1.0",
            "/base/protocol/open_fraction",
        ),
        // Found by probing every count at 1 (each panicked in a library assert before).
        ("whitening-depth:/dims/0=1", "/dims/0"),
        ("whitening-depth:/trained_dim=1", "/trained_dim"),
        ("gaussianization-layers:/samples=1", "/samples"),
        ("gaussianization-layers:/dims/0=1", "/dims/0"),
        ("volume-preserving-floor:/dims/0=1", "/dims/0"),
        (
            "volume-preserving-floor:/construction_samples=1",
            "/construction_samples",
        ),
        ("coupling-toy-fits:/fits/1/bins=1", "/fits/1/bins"),
        (
            "reject-open-world:/base/protocol/data/known_classes=11",
            "/base/protocol/data/known_classes",
        ),
        (
            "reject-open-world:/base/protocol/data/train=1",
            "/base/protocol/data/train",
        ),
    ];
    for (set, pointer) in cases {
        let e = preset_error(set, 8 * GIB);
        assert_eq!(e.pointer, pointer, "{set}: {e}");
        assert_eq!(e.experiment, set.split(':').next().unwrap());
        let text = e.to_string();
        assert!(
            text.contains("allowed:") && text.contains(pointer),
            "{text}"
        );
    }
    let big = preset_error("data-gallery:/grid=200000", 8 * GIB).to_string();
    assert!(big.contains("GiB"), "no memory estimate in: {big}");
}

#[test]
fn reproduce_refuses_a_bad_preset_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(
        dir.path(),
        &["data-gallery"],
        0,
        &["data-gallery:/grid=1.5"],
    );
    let err = run(&opts).unwrap_err();
    assert!(matches!(err, BenchError::Preset(_)), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert!(
        !dir.path().join("index.html").exists(),
        "a report was written for a refused preset"
    );
}

#[test]
fn every_stored_preset_passes_its_own_validation() {
    for exp in registry() {
        for mode in [Mode::Test, Mode::Quick, Mode::Full] {
            let preset = exp.preset(mode);
            if let Err(e) = validate::check(exp.as_ref(), &preset, 4 * GIB) {
                panic!("{mode:?}: {e}");
            }
        }
    }
}

const CHEAP: [&str; 2] = ["autodiff-gradcheck", "fff-linear-hutchinson"];

fn key(exp: &dyn Experiment, seed: u64) -> ResultKey {
    ResultKey::new(exp, Mode::Test, seed)
}

#[test]
fn cache_entries_are_checked_against_their_key_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&options(dir.path(), &CHEAP, 1, &[])).unwrap();
    assert_eq!(first.ran.len(), 2);
    let all = registry();
    let exps: Vec<&dyn Experiment> = CHEAP
        .iter()
        .map(|id| all.iter().find(|e| e.id() == *id).unwrap().as_ref())
        .collect();
    // A valid result of seed 1 placed under the key of seed 2 is not taken as cached.
    for exp in &exps {
        std::fs::copy(
            key(*exp, 1).json_path(dir.path()),
            key(*exp, 2).json_path(dir.path()),
        )
        .unwrap();
        let why = cache::load_checked(dir.path(), &key(*exp, 2)).unwrap_err();
        assert!(why.contains("seed"), "{why}");
    }
    let second = run(&options(dir.path(), &CHEAP, 2, &[])).unwrap();
    assert_eq!(second.ran.len(), 2, "a foreign result was shown as cached");
    // A result whose figure was deleted reruns.
    let with_figure = exps
        .iter()
        .find(|e| {
            let r = cache::load(dir.path(), &key(**e, 1)).unwrap();
            !r.outcome.figures.is_empty()
        })
        .expect("one of the cheap experiments draws a figure");
    let result = cache::load(dir.path(), &key(*with_figure, 1)).unwrap();
    std::fs::remove_file(dir.path().join(&result.outcome.figures[0].path)).unwrap();
    assert!(cache::load_checked(dir.path(), &key(*with_figure, 1)).is_err());
    let third = run(&options(dir.path(), &[with_figure.id()], 1, &[])).unwrap();
    assert_eq!(third.ran, vec![with_figure.id().to_string()]);
    // A result of another preset hash (edited preset) is refused.
    let path = key(*with_figure, 1).json_path(dir.path());
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["preset"] = serde_json::json!({"tampered": true});
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let why = cache::load_checked(dir.path(), &key(*with_figure, 1)).unwrap_err();
    assert!(why.contains("preset hash"), "{why}");
}

#[test]
fn a_live_lock_refuses_a_second_run_and_a_stale_one_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join(LOCK_FILE);
    std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
    let err = run(&options(dir.path(), &CHEAP[..1], 0, &[])).unwrap_err();
    assert!(
        matches!(err, BenchError::OutputLocked { pid, .. } if pid == std::process::id()),
        "{err}"
    );
    assert!(err.to_string().contains("in use"), "{err}");
    // No process has PID 2³² − 2 (Linux caps PIDs at 2²²).
    std::fs::write(&lock, "4294967294\n").unwrap();
    let summary = run(&options(dir.path(), &CHEAP[..1], 0, &[])).unwrap();
    assert_eq!(summary.ran.len(), 1);
    assert!(!lock.exists(), "the lock outlived its run");
}

#[test]
fn out_pointing_to_a_file_is_a_usage_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = run(&options(file.path(), &CHEAP[..1], 0, &[])).unwrap_err();
    assert!(matches!(err, BenchError::OutputIsFile(_)), "{err}");
    assert!(err.to_string().contains("is a file"), "{err}");
}

#[test]
fn reference_with_zero_samples_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = flow_bench::cli::ReferenceArgs {
        system: flow_bench::cli::ReferenceSystem::Dw4,
        samples: 0,
        seed: 0,
        dir: dir.path().to_path_buf(),
    };
    let err = flow_bench::cli::reference(&args).unwrap_err();
    assert!(matches!(err, BenchError::BadArgument { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
