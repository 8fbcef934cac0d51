//! `--set` overrides: parsed from the command line, applied to the stored preset, cached under
//! their own key, and refused with a usage error when they name nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_bench::cache::ResultKey;
use flow_bench::overrides::PresetOverride;
use flow_bench::registry::registry;
use flow_bench::{BenchError, Mode, RunOptions, reproduce};

const EXP: &str = "fff-linear-hutchinson";

fn options(out: &Path, overrides: &[&str]) -> RunOptions {
    RunOptions {
        papers: Vec::new(),
        experiments: vec![EXP.to_string()],
        mode: Mode::Test,
        seed: 5,
        out: out.to_path_buf(),
        threads: 1,
        redo: false,
        progress: false,
        overrides: overrides.iter().map(|s| s.parse().unwrap()).collect(),
    }
}

fn run(out: &Path, overrides: &[&str]) -> Result<flow_bench::RunSummary, BenchError> {
    reproduce(&options(out, overrides), Arc::new(AtomicBool::new(false)))
}

#[test]
fn parses_json_values_and_bare_words() {
    let o: PresetOverride = "fff-egnn-boltzmann:/0/steps=20000".parse().unwrap();
    assert_eq!(o.experiment, "fff-egnn-boltzmann");
    assert_eq!(o.pointer, "/0/steps");
    assert_eq!(o.value, serde_json::json!(20000));
    let list: PresetOverride = "x:/ks=[1, 2]".parse().unwrap();
    assert_eq!(list.value, serde_json::json!([1, 2]));
    let word: PresetOverride = "x:/optimiser=adam".parse().unwrap();
    assert_eq!(word.value, serde_json::json!("adam"));
    for bad in ["no-colon", "x:/no-equals", "x:steps=3", ":/a=1"] {
        assert!(bad.parse::<PresetOverride>().is_err(), "{bad} parsed");
    }
}

#[test]
fn override_changes_the_stored_preset_and_the_cache_key() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &[]).unwrap();
    let changed = run(dir.path(), &["fff-linear-hutchinson:/ks=[1,4]"]).unwrap();
    assert_eq!(
        changed.ran,
        vec![EXP.to_string()],
        "the overridden preset was served from the plain preset's cache"
    );
    let exp = registry().into_iter().find(|e| e.id() == EXP).unwrap();
    let opts = options(dir.path(), &["fff-linear-hutchinson:/ks=[1,4]"]);
    let key = opts.key_of(exp.as_ref());
    assert_ne!(key, ResultKey::new(exp.as_ref(), Mode::Test, 5));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(key.json_path(dir.path())).unwrap()).unwrap();
    assert_eq!(stored["preset"]["ks"], serde_json::json!([1, 4]));
    assert!(
        stored["command"]
            .as_str()
            .unwrap()
            .contains("--set 'fff-linear-hutchinson:/ks=[1,4]'"),
        "rerun command lacks the override: {}",
        stored["command"]
    );
    let again = run(dir.path(), &["fff-linear-hutchinson:/ks=[1,4]"]).unwrap();
    assert_eq!(again.cached, vec![EXP.to_string()]);
}

#[test]
fn bad_overrides_are_usage_errors_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for (setting, expected) in [
        (
            "fff-linear-hutchinson:/no_such_field=1",
            "no field /no_such_field",
        ),
        ("fff-linear-hutchinson:/ks=4", "holds an array"),
        ("autodiff-gradcheck:/step=0.1", "not selected"),
    ] {
        match run(dir.path(), &[setting]) {
            Err(e @ BenchError::BadOverride { .. }) => {
                assert_eq!(e.exit_code(), 2);
                assert!(e.to_string().contains(expected), "{setting}: {e}");
            }
            other => panic!("{setting}: expected BadOverride, got {other:?}"),
        }
    }
    assert!(
        !dir.path().join("results").exists()
            || std::fs::read_dir(dir.path().join("results"))
                .unwrap()
                .next()
                .is_none(),
        "a refused run stored a result"
    );
}
