//! Cache behaviour: results keyed by preset and seed are skipped on rerun, `--redo` reruns
//! them, a cancelled run keeps finished results and still writes the report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_bench::cache::ResultKey;
use flow_bench::registry::registry;
use flow_bench::{BenchError, Mode, RunOptions, reproduce};

fn options(out: &Path, experiments: &[&str], seed: u64, redo: bool) -> RunOptions {
    RunOptions {
        papers: Vec::new(),
        experiments: experiments.iter().map(|s| s.to_string()).collect(),
        mode: Mode::Test,
        seed,
        out: out.to_path_buf(),
        threads: 1,
        redo,
        progress: false,
        overrides: Vec::new(),
    }
}

fn not_cancelled() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

const CHEAP: [&str; 2] = ["autodiff-gradcheck", "fff-linear-hutchinson"];

#[test]
fn rerun_skips_cached_results_and_redo_reruns_them() {
    let dir = tempfile::tempdir().unwrap();
    let first = reproduce(&options(dir.path(), &CHEAP, 1, false), not_cancelled()).unwrap();
    assert_eq!(first.ran.len(), 2);
    assert!(first.cached.is_empty());
    let exp = registry().into_iter().find(|e| e.id() == CHEAP[0]).unwrap();
    let path = ResultKey::new(exp.as_ref(), Mode::Test, 1).json_path(dir.path());
    let before = std::fs::read(&path).unwrap();

    let second = reproduce(&options(dir.path(), &CHEAP, 1, false), not_cancelled()).unwrap();
    assert!(
        second.ran.is_empty(),
        "cached experiments ran again: {:?}",
        second.ran
    );
    assert_eq!(second.cached.len(), 2);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a skipped result was rewritten"
    );

    let redo = reproduce(&options(dir.path(), &CHEAP, 1, true), not_cancelled()).unwrap();
    assert_eq!(redo.ran.len(), 2);
    assert!(redo.cached.is_empty());
}

#[test]
fn results_are_keyed_by_seed_and_a_missing_result_is_rerun() {
    let dir = tempfile::tempdir().unwrap();
    reproduce(&options(dir.path(), &CHEAP, 1, false), not_cancelled()).unwrap();
    let other_seed =
        reproduce(&options(dir.path(), &CHEAP[..1], 2, false), not_cancelled()).unwrap();
    assert_eq!(other_seed.ran, vec![CHEAP[0].to_string()]);
    let exp = registry().into_iter().find(|e| e.id() == CHEAP[1]).unwrap();
    std::fs::remove_file(ResultKey::new(exp.as_ref(), Mode::Test, 1).json_path(dir.path()))
        .unwrap();
    let again = reproduce(&options(dir.path(), &CHEAP, 1, false), not_cancelled()).unwrap();
    assert_eq!(again.ran, vec![CHEAP[1].to_string()]);
    assert_eq!(again.cached, vec![CHEAP[0].to_string()]);
}

#[test]
fn preset_hash_differs_between_modes() {
    for exp in registry() {
        let quick = ResultKey::new(exp.as_ref(), Mode::Quick, 0);
        let test = ResultKey::new(exp.as_ref(), Mode::Test, 0);
        assert_ne!(
            quick.preset_hash,
            test.preset_hash,
            "{}: test and quick presets coincide",
            exp.id()
        );
        assert_eq!(
            quick,
            ResultKey::new(exp.as_ref(), Mode::Quick, 0),
            "hash is not deterministic"
        );
    }
}

#[test]
fn cancelled_run_keeps_finished_results_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    reproduce(&options(dir.path(), &CHEAP[..1], 3, false), not_cancelled()).unwrap();
    let cancel = Arc::new(AtomicBool::new(true));
    let summary = reproduce(&options(dir.path(), &CHEAP, 3, true), cancel).unwrap();
    assert!(summary.cancelled);
    assert!(summary.ran.is_empty());
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(index.contains(CHEAP[0]));
    let exp = registry().into_iter().find(|e| e.id() == CHEAP[0]).unwrap();
    assert!(
        ResultKey::new(exp.as_ref(), Mode::Test, 3)
            .json_path(dir.path())
            .is_file()
    );
    let page = std::fs::read_to_string(dir.path().join("flow-core.html")).unwrap();
    assert!(
        page.contains("error-histogram.svg"),
        "the finished result vanished from its page"
    );
    match summary.into_result() {
        Err(e @ BenchError::Interrupted { .. }) => assert_eq!(e.exit_code(), 130),
        other => panic!("expected Interrupted, got {other:?}"),
    }
}
