//! Issue 19 (runner half): `reproduce --shard I/N` runs a deterministic share of the
//! selection, `flows report DIR...` merges the shards' folders into the report of a single
//! run, and bad shards or unusable folders give typed errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use flow_bench::merge::{self, ReportOptions};
use flow_bench::{BenchError, Mode, RunOptions, RunSummary, Shard, reproduce_shard};

/// Cheap smoke experiments whose outcome is a function of the seed alone (no clock reading in
/// their tables or notes), so two runs of them give the same pages up to the call's facts.
const DETERMINISTIC: [&str; 6] = [
    "autodiff-gradcheck",
    "fff-linear-hutchinson",
    "data-gallery",
    "gaussianization-layers",
    "landscape-analytic-saddles",
    "spectral-bias",
];

fn options(out: &Path, experiments: &[&str], seed: u64, threads: usize) -> RunOptions {
    RunOptions {
        papers: Vec::new(),
        experiments: experiments.iter().map(|s| s.to_string()).collect(),
        mode: Mode::Test,
        seed,
        out: out.to_path_buf(),
        threads,
        redo: false,
        progress: false,
        overrides: Vec::new(),
    }
}

fn run(out: &Path, experiments: &[&str], seed: u64, shard: Shard) -> RunSummary {
    let opts = options(out, experiments, seed, 2);
    reproduce_shard(&opts, shard, Arc::new(AtomicBool::new(false)))
        .unwrap()
        .into_result()
        .unwrap()
}

fn report(inputs: &[&Path], out: &Path, seed: u64) -> Result<merge::MergeSummary, BenchError> {
    merge::merge(&ReportOptions {
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        out: out.to_path_buf(),
        mode: Mode::Test,
        seed,
        overrides: Vec::new(),
    })
}

/// The Markdown pages of a report folder, by file name.
fn pages(dir: &Path) -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    pages.sort();
    pages
}

/// A page with the facts of the call that wrote it masked: the output folder's path (in
/// rerun commands), what this call did to each experiment (`ran` now or read from disk), and
/// clock readings of the runner (each result's wall time and finish time, the call's
/// duration). Everything else (tables, verdicts, notes, figures, counts) is compared as is.
fn normalize(page: &str, folders: &[&Path]) -> String {
    let mut text = page.to_string();
    for f in folders {
        text = text.replace(&f.display().to_string(), "OUT");
    }
    let mask = |line: &str| -> String {
        if line.contains(" · wall time ") && line.contains(" · finished ") {
            let fields: Vec<&str> = line.split(" · ").collect();
            let kept: Vec<&str> = fields
                .iter()
                .map(|f| match f {
                    f if f.starts_with("wall time ") => "wall time —",
                    f if f.starts_with("finished ") => "finished —",
                    f => f,
                })
                .collect();
            format!("STATUS · {}", kept[1..].join(" · "))
        } else if let Some(i) = line.find(" · this call took ") {
            line[..i].to_string()
        } else if line.starts_with("| [`") {
            let mut cells: Vec<&str> = line.split('|').collect();
            cells[3] = " STATUS ";
            cells[4] = " TIME ";
            cells.join("|")
        } else {
            line.to_string()
        }
    };
    text.lines().map(mask).collect::<Vec<_>>().join("\n")
}

fn result_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn outcome(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(bytes).unwrap()["outcome"].clone()
}

#[test]
fn two_shards_merge_into_the_report_of_a_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };
    let (single, first, second, merged) = (
        dir("run-single"),
        dir("run-shard1"),
        dir("run-shard2"),
        dir("run-merged"),
    );
    let whole = run(&single, &DETERMINISTIC, 3, Shard::WHOLE);
    assert_eq!(whole.ran.len(), DETERMINISTIC.len());
    let a = run(&first, &DETERMINISTIC, 3, "1/2".parse().unwrap());
    let b = run(&second, &DETERMINISTIC, 3, "2/2".parse().unwrap());
    assert_eq!((a.ran.len(), b.ran.len()), (3, 3), "{a:?} {b:?}");
    assert!(a.ran.iter().all(|id| !b.ran.contains(id)));
    let summary = report(&[&first, &second], &merged, 3).unwrap();
    assert_eq!(summary.found.len(), DETERMINISTIC.len());
    assert_eq!(summary.copied, DETERMINISTIC.len());
    // The merged folder holds exactly the shards' result files, byte for byte, under the
    // names (keys) of the single run.
    let shards: Vec<(String, Vec<u8>)> = result_files(&first)
        .into_iter()
        .chain(result_files(&second))
        .collect();
    let mut sorted = shards.clone();
    sorted.sort();
    assert_eq!(result_files(&merged), sorted);
    let single_files = result_files(&single);
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&single_files), names(&sorted));
    for ((name, one), (_, merged)) in single_files.iter().zip(&sorted) {
        assert_eq!(
            outcome(one),
            outcome(merged),
            "{name}: the outcome differs between two runs with the same seed, so this test \
             cannot use that experiment (pick a deterministic one)"
        );
    }
    let folders = [
        single.as_path(),
        first.as_path(),
        second.as_path(),
        merged.as_path(),
    ];
    let (want, got) = (pages(&single), pages(&merged));
    assert_eq!(names_of(&want), names_of(&got));
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(
            normalize(w, &folders),
            normalize(g, &folders),
            "{name} differs"
        );
    }
    // The comparison sees the experiments: each has its row in the index, and the pages of
    // one shard alone differ from the single run's.
    let index = normalize(
        &want[names_of(&want)
            .iter()
            .position(|n| *n == "index.md")
            .unwrap()]
        .1,
        &folders,
    );
    for id in DETERMINISTIC {
        assert!(
            index.contains(&format!("[`{id}`]")),
            "{id} not in the index"
        );
    }
    let partial = dir("run-partial");
    report(&[&first], &partial, 3).unwrap();
    let folders = [single.as_path(), first.as_path(), partial.as_path()];
    assert!(
        pages(&single)
            .iter()
            .zip(pages(&partial))
            .any(|((_, w), (_, g))| normalize(w, &folders) != normalize(&g, &folders)),
        "the report of one shard compares equal to the whole run"
    );
    // The merge is an ordinary output folder: figures are there and a rerun finds the cache.
    let again = run(&merged, &DETERMINISTIC, 3, Shard::WHOLE);
    assert_eq!(
        (again.ran.len(), again.cached.len()),
        (0, DETERMINISTIC.len())
    );
    // Merging again (same results already in --out) is idempotent.
    let twice = report(&[&first, &second], &merged, 3).unwrap();
    assert_eq!(twice.found.len(), DETERMINISTIC.len());
}

fn names_of(pages: &[(String, String)]) -> Vec<&str> {
    pages.iter().map(|p| p.0.as_str()).collect()
}

/// The experiments whose judged results are wall-clock measurements: the FFF/autoencoder step
/// ratio and the M-FFF/RFM sampling-time ratio. (Rows such as training seconds elsewhere are
/// information, not claims, and those experiments share the machine.)
#[test]
fn timing_experiments_opt_in_to_running_alone() {
    let timing: Vec<&str> = flow_bench::registry::registry()
        .iter()
        .filter(|e| e.measures_time())
        .map(|e| e.id())
        .collect();
    assert_eq!(timing, ["fff-step-time", "mfff-vmf-s2"]);
}

#[test]
fn timing_results_carry_the_machine_and_older_ones_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let timing = ["mfff-vmf-s2"];
    let first = run(tmp.path(), &timing, 0, Shard::WHOLE);
    assert_eq!(first.ran.len(), 1);
    let (name, bytes) = result_files(tmp.path()).remove(0);
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let machine = &json["machine"];
    assert_eq!(machine["alone"], true, "{machine}");
    assert!(machine["logical_cores"].as_u64().unwrap() >= 1, "{machine}");
    assert!(machine["gemm_threads"].as_u64().unwrap() >= 1, "{machine}");
    let page = std::fs::read_to_string(tmp.path().join("manifold-free-form-flows.md")).unwrap();
    assert!(
        page.contains("*Machine:* ") && page.contains("ran alone"),
        "no machine line"
    );
    // A timing result stored without the description (before timing ran alone) is rerun.
    json.as_object_mut().unwrap().remove("machine");
    let path = tmp.path().join("results").join(name);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let second = run(tmp.path(), &timing, 0, Shard::WHOLE);
    assert_eq!((second.ran.len(), second.cached.len()), (1, 0));
    let third = run(tmp.path(), &timing, 0, Shard::WHOLE);
    assert_eq!((third.ran.len(), third.cached.len()), (0, 1));
}

#[test]
fn report_refuses_missing_corrupt_and_conflicting_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("merged");
    let missing = tmp.path().join("no-such-folder");
    let err = report(&[&missing], &out, 0).unwrap_err();
    assert!(matches!(err, BenchError::ReportInputMissing(_)), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(err.exit_code(), 2);
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = report(&[&file], &out, 0).unwrap_err();
    assert!(
        matches!(&err, BenchError::NotAnOutputFolder { why, .. } if why.contains("file")),
        "{err}"
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = report(&[&empty], &out, 0).unwrap_err();
    assert!(err.to_string().contains("no results/ folder"), "{err}");
    // Two runs of the same key (each folder is fine alone) conflict.
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let cheap = ["autodiff-gradcheck"];
    run(&a, &cheap, 0, Shard::WHOLE);
    run(&b, &cheap, 0, Shard::WHOLE);
    let err = report(&[&a, &b], &out, 0).unwrap_err();
    assert!(
        matches!(&err, BenchError::ConflictingResults { stem, .. } if stem.starts_with("autodiff-gradcheck-")),
        "{err}"
    );
    assert!(err.to_string().contains("delete one of them"), "{err}");
    // The same folder twice is no conflict; another seed matches nothing.
    report(&[&a, &a], &out, 0).unwrap();
    let err = report(&[&a], &tmp.path().join("other"), 9).unwrap_err();
    assert!(
        matches!(err, BenchError::NoResults { other: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--smoke --seed 9"), "{err}");
    assert!(!tmp.path().join("other").exists(), "a refused merge wrote");
    // A damaged result is refused with its path, and nothing is written.
    let json = std::fs::read_dir(b.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let bytes = std::fs::read(&json).unwrap();
    std::fs::write(&json, &bytes[..bytes.len() / 2]).unwrap();
    let fresh = tmp.path().join("fresh");
    let err = report(&[&b], &fresh, 0).unwrap_err();
    assert!(
        matches!(&err, BenchError::CorruptResult { path, .. } if *path == json),
        "{err}"
    );
    assert!(err.to_string().contains("unreadable result"), "{err}");
    assert!(!fresh.exists(), "a refused merge wrote");
}

fn flows(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flows"))
        .args(args)
        .output()
        .expect("run flows")
}

#[test]
fn the_binary_refuses_bad_shards_and_folders_with_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for (shard, needle) in [
        ("0/2", "counts from 1"),
        ("3/2", "counts from 1 to N = 2"),
        ("junk", "expected I/N"),
        ("1/0", "at least 1"),
    ] {
        let o = flows(&["reproduce", "--smoke", "--shard", shard, "--out", out]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--shard {shard}: {err}");
        assert!(err.contains(needle), "--shard {shard}: {err}");
    }
    assert!(!tmp.path().join("results").exists(), "a refused run wrote");
    let missing = tmp.path().join("missing");
    let o = flows(&["report", "--smoke", missing.to_str().unwrap(), "--out", out]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error:") && err.contains("does not exist"),
        "{err}"
    );
    let o = flows(&["report", "--smoke", "--out", out]);
    assert_eq!(o.status.code(), Some(2), "flows report without folders");
    // A shard with nothing to do (one experiment, second of two shares) is no error.
    let o = flows(&[
        "reproduce",
        "--smoke",
        "-e",
        "autodiff-gradcheck",
        "--shard",
        "2/2",
        "--no-progress",
        "--out",
        out,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("0 ran, 0 cached"), "{err}");
}
