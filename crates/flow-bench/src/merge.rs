//! `flows report DIR...`: one report from several output folders, e.g. the shards of a
//! cluster run (`flows reproduce --shard I/N`, see [`crate::schedule`]).
//!
//! A result belongs to its key (experiment, preset hash with version, seed), so results from
//! different folders never collide unless they are two runs of the same key. For every
//! registered experiment the key of the given mode, seed and `--set` is looked up in each
//! folder (and in `--out` itself); each result found is checked against its key and figures
//! as the cache checks it, copies that are equal (as JSON values) count once, and two
//! different results for one key are an error ([`BenchError::ConflictingResults`]). All checks
//! run before anything is written; then the results (JSON, CSV, figure folder) are copied into
//! `--out` and the pages are written as `reproduce` writes them, so `--out` is an ordinary
//! output folder (a later `reproduce` there finds the merged results cached).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cache::{self, ExperimentResult, FIGURES_DIR, RESULTS_DIR, ResultKey};
use crate::error::BenchError;
use crate::experiment::{Experiment, Mode};
use crate::overrides::{self, PresetOverride};
use crate::registry;
use crate::report::{self, Entry, RunInfo, Status};
use crate::runner::{self, RunOptions};

/// Everything `flows report` needs to know.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Output folders of `flows reproduce` to merge.
    pub inputs: Vec<PathBuf>,
    /// Folder of the merged report (may be one of the inputs).
    pub out: PathBuf,
    /// Mode of the runs.
    pub mode: Mode,
    /// Seed of the runs.
    pub seed: u64,
    /// `--set` changes the runs used (they change the result keys).
    pub overrides: Vec<PresetOverride>,
}

impl ReportOptions {
    /// Run options with the same keys and rerun commands as the runs being merged.
    fn run_options(&self) -> RunOptions {
        RunOptions {
            papers: Vec::new(),
            experiments: Vec::new(),
            mode: self.mode,
            seed: self.seed,
            out: self.out.clone(),
            threads: 1,
            redo: false,
            progress: false,
            overrides: self.overrides.clone(),
        }
    }
}

/// What a `flows report` call did.
#[derive(Clone, Debug, Default)]
pub struct MergeSummary {
    /// Experiments with a result in the merged report.
    pub found: Vec<String>,
    /// Registered experiments without a result in any folder.
    pub missing: Vec<String>,
    /// Results copied into `--out` (those already there are not counted).
    pub copied: usize,
    /// The report's index page.
    pub index: PathBuf,
}

/// One result to merge: where it is and what it holds.
struct Found {
    dir: PathBuf,
    key: ResultKey,
    result: ExperimentResult,
}

/// Merges the results of `opts.inputs` into `opts.out` and writes the report there.
///
/// # Errors
/// [`BenchError::ReportInputMissing`] and [`BenchError::NotAnOutputFolder`] for unusable
/// inputs, [`BenchError::BadOverride`] for a `--set` that does not apply,
/// [`BenchError::CorruptResult`], [`BenchError::ConflictingResults`],
/// [`BenchError::NoResults`] when nothing matches; then the errors of writing `--out`. On
/// every error before writing, `--out` is left untouched.
pub fn merge(opts: &ReportOptions) -> Result<MergeSummary, BenchError> {
    let start = Instant::now();
    for dir in &opts.inputs {
        check_input(dir)?;
    }
    let all = registry::registry();
    check_overrides(&all, opts)?;
    let run = opts.run_options();
    let mut sources: Vec<&Path> = opts.inputs.iter().map(PathBuf::as_path).collect();
    if opts.out.join(RESULTS_DIR).is_dir() && !sources.iter().any(|d| same_dir(d, &opts.out)) {
        sources.push(&opts.out);
    }
    let mut found = Vec::new();
    for exp in &all {
        let key = run.key_of(exp.as_ref());
        if let Some(f) = find_one(&sources, &key)? {
            found.push(f);
        }
    }
    if found.is_empty() {
        return Err(no_results(opts, &run, &all));
    }
    runner::prepare_output(&opts.out)?;
    let _lock = crate::lock::acquire(&opts.out)?;
    let mut summary = MergeSummary::default();
    for f in &found {
        if !same_dir(&f.dir, &opts.out) {
            copy_result(&f.dir, &opts.out, &f.key)?;
            summary.copied += 1;
        }
    }
    let entries: Vec<Entry> = all
        .iter()
        .map(|exp| {
            let key = run.key_of(exp.as_ref());
            let result = found
                .iter()
                .find(|f| f.key == key)
                .map(|f| f.result.clone());
            let id = exp.id().to_string();
            let status = if result.is_some() {
                summary.found.push(id.clone());
                Status::Cached
            } else {
                summary.missing.push(id.clone());
                Status::Missing
            };
            Entry {
                experiment: exp.as_ref(),
                key,
                result,
                status,
                command: runner::rerun_command(&id, &run),
            }
        })
        .collect();
    let info = RunInfo {
        mode: opts.mode,
        seed: opts.seed,
        seconds: start.elapsed().as_secs_f64(),
    };
    summary.index = report::write(&opts.out, &entries, &info)?;
    Ok(summary)
}

/// An input must be an existing folder with a `results/` folder; a live lock (a `reproduce`
/// still running there) gets a warning, since its unfinished results are not in the report.
fn check_input(dir: &Path) -> Result<(), BenchError> {
    if !dir.exists() {
        return Err(BenchError::ReportInputMissing(dir.to_path_buf()));
    }
    let not_output = |why: &str| BenchError::NotAnOutputFolder {
        path: dir.to_path_buf(),
        why: why.into(),
    };
    if !dir.is_dir() {
        return Err(not_output("it is a file"));
    }
    if !dir.join(RESULTS_DIR).is_dir() {
        return Err(not_output(
            "it has no results/ folder (give folders written by `flows reproduce --out`)",
        ));
    }
    let lock = dir.join(crate::lock::LOCK_FILE);
    let holder = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|pid| crate::lock::process_alive(*pid));
    if let Some(pid) = holder {
        eprintln!(
            "warning: {} is in use by a running flows process (pid {pid}); results it has not finished yet are not in this report",
            dir.display()
        );
    }
    Ok(())
}

/// Every override must name a registered experiment and apply to its preset (the memory
/// checks of a run are left out: merging needs no memory).
fn check_overrides(all: &[Box<dyn Experiment>], opts: &ReportOptions) -> Result<(), BenchError> {
    for o in &opts.overrides {
        let Some(exp) = all.iter().find(|e| e.id() == o.experiment) else {
            return Err(BenchError::BadOverride {
                setting: o.to_string(),
                why: format!("no registered experiment `{}`", o.experiment),
            });
        };
        overrides::resolved_preset(exp.as_ref(), opts.mode, &opts.overrides)?;
    }
    Ok(())
}

/// The result of `key` in `dirs`: `None` if no folder has it, the one result if every copy
/// is equal, else an error.
fn find_one(dirs: &[&Path], key: &ResultKey) -> Result<Option<Found>, BenchError> {
    let mut found: Option<Found> = None;
    for dir in dirs {
        let path = key.json_path(dir);
        if !path.exists() {
            continue;
        }
        let result = match cache::load_checked(dir, key) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(why) => return Err(BenchError::CorruptResult { path, why }),
        };
        match &found {
            None => {
                found = Some(Found {
                    dir: dir.to_path_buf(),
                    key: key.clone(),
                    result,
                });
            }
            Some(first) if !same_result(&first.result, &result) => {
                return Err(BenchError::ConflictingResults {
                    stem: key.stem(),
                    first: key.json_path(&first.dir),
                    second: path,
                });
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

/// Equal as JSON values (so formatting does not matter, every field does).
fn same_result(a: &ExperimentResult, b: &ExperimentResult) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Copies the figure folder (through a staging folder and a rename), the CSV and last the
/// JSON of `key` from `from` into `to`, so an interrupted merge never leaves a result without
/// its figures.
fn copy_result(from: &Path, to: &Path, key: &ResultKey) -> Result<(), BenchError> {
    let figures = from.join(key.figure_dir());
    let final_dir = to.join(key.figure_dir());
    if figures.is_dir() {
        let staging = to
            .join(FIGURES_DIR)
            .join(format!(".staging-merge-{}", key.stem()));
        let _ = std::fs::remove_dir_all(&staging);
        copy_dir(&figures, &staging)?;
        if final_dir.exists() {
            std::fs::remove_dir_all(&final_dir).map_err(|e| BenchError::io(&final_dir, e))?;
        }
        std::fs::rename(&staging, &final_dir).map_err(|e| BenchError::io(&final_dir, e))?;
    }
    for (src, dst) in [
        (key.csv_path(from), key.csv_path(to)),
        (key.json_path(from), key.json_path(to)),
    ] {
        if src.is_file() {
            let bytes = std::fs::read(&src).map_err(|e| BenchError::io(&src, e))?;
            cache::write_atomic(&dst, &bytes)?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(to).map_err(|e| BenchError::io(to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| BenchError::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| BenchError::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| BenchError::io(&src, e))?;
        }
    }
    Ok(())
}

/// The error for a merge that found nothing, counting the result files that match no key.
fn no_results(opts: &ReportOptions, run: &RunOptions, all: &[Box<dyn Experiment>]) -> BenchError {
    let stems: Vec<String> = all.iter().map(|e| run.key_of(e.as_ref()).stem()).collect();
    let other = opts
        .inputs
        .iter()
        .filter_map(|d| std::fs::read_dir(d.join(RESULTS_DIR)).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".json")
                .is_some_and(|stem| !stems.iter().any(|s| s == stem))
        })
        .count();
    let dirs: Vec<String> = opts
        .inputs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    BenchError::NoResults {
        dirs: dirs.join(", "),
        mode: opts.mode,
        seed: opts.seed,
        other,
    }
}
