//! `reproduce`: select (optionally one shard of the selection), skip what is cached, run the
//! rest (timing experiments first and alone, then the others on worker threads) with progress
//! bars, store each result atomically as it finishes, then write the report.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::{self, ExperimentResult, FIGURES_DIR, RESULTS_DIR, ResultKey};
use crate::context::RunContext;
use crate::error::BenchError;
use crate::experiment::{Experiment, ExperimentError, Mode};
use crate::machine::MachineInfo;
use crate::overrides::{self, PresetOverride};
use crate::paper::PaperId;
use crate::registry;
use crate::report::{self, Entry, RunInfo, Status};
use crate::schedule::{self, Shard};

/// Default output folder (the one the README opens).
pub const DEFAULT_OUT: &str = "reports";

/// Sub-folder of the output folder with per-run scratch state (training checkpoints) that
/// lets an interrupted run resume; removed once a result is stored.
pub const WORK_DIR: &str = "work";

/// Everything `reproduce` needs to know.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Papers to run (with `experiments`: the union; both empty: everything).
    pub papers: Vec<PaperId>,
    /// Experiment ids to run.
    pub experiments: Vec<String>,
    /// Size of the run.
    pub mode: Mode,
    /// Base seed.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Experiments run at the same time.
    pub threads: usize,
    /// Rerun experiments even when their result is cached.
    pub redo: bool,
    /// Draw progress bars on stderr (they hide themselves when stderr is not a terminal).
    pub progress: bool,
    /// `--set` changes to the selected experiments' presets.
    pub overrides: Vec<PresetOverride>,
}

impl RunOptions {
    /// The preset `exp` runs with: its mode's preset after the overrides (already validated
    /// by [`reproduce`]; an invalid one falls back to the unmodified preset here).
    pub fn preset_of(&self, exp: &dyn Experiment) -> serde_json::Value {
        overrides::resolved_preset(exp, self.mode, &self.overrides)
            .unwrap_or_else(|_| exp.preset(self.mode))
    }

    /// The cache key of `exp` under these options.
    pub fn key_of(&self, exp: &dyn Experiment) -> ResultKey {
        ResultKey::for_preset(exp, self.mode, &self.preset_of(exp), self.seed)
    }
}

/// What a `reproduce` call did.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Experiments run now.
    pub ran: Vec<String>,
    /// Experiments skipped because their result was cached.
    pub cached: Vec<String>,
    /// Experiments that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Whether Ctrl-C stopped the run.
    pub cancelled: bool,
    /// The report's index page.
    pub index: PathBuf,
    /// Wall time of the whole call in seconds.
    pub seconds: f64,
}

impl RunSummary {
    /// `Ok` if every selected experiment has its result, else the error to exit with.
    ///
    /// # Errors
    /// [`BenchError::Interrupted`] after Ctrl-C, [`BenchError::ExperimentsFailed`] after failures.
    pub fn into_result(self) -> Result<RunSummary, BenchError> {
        if self.cancelled {
            return Err(BenchError::Interrupted {
                finished: self.ran.len() + self.cached.len(),
            });
        }
        if !self.failed.is_empty() {
            let list = self
                .failed
                .iter()
                .map(|(id, why)| format!("{id}: {why}"))
                .collect();
            return Err(BenchError::ExperimentsFailed(list));
        }
        Ok(self)
    }
}

/// Runs the selected experiments of the registry into `opts.out` and writes the report.
/// `cancel` is the Ctrl-C flag: once set, running experiments are abandoned, no new ones start,
/// and the report is written for what finished.
///
/// # Errors
/// Selection errors and an unwritable output folder before anything runs; I/O errors while
/// storing results or writing the report. Experiment failures are listed in the summary.
pub fn reproduce(opts: &RunOptions, cancel: Arc<AtomicBool>) -> Result<RunSummary, BenchError> {
    reproduce_shard(opts, Shard::WHOLE, cancel)
}

/// [`reproduce`] for one share of the selection (`--shard I/N`, see [`crate::schedule`]):
/// the whole selection is checked (presets, overrides) as in an unsharded run, then only this
/// shard's experiments run; the report in `opts.out` shows the others as not run (merge the
/// shards' folders with [`crate::merge::merge`]).
///
/// # Errors
/// As [`reproduce`].
pub fn reproduce_shard(
    opts: &RunOptions,
    shard: Shard,
    cancel: Arc<AtomicBool>,
) -> Result<RunSummary, BenchError> {
    let start = Instant::now();
    let all = registry::registry();
    let chosen = registry::select(&all, &opts.papers, &opts.experiments)?;
    overrides::validate(&chosen, opts.mode, &opts.overrides)?;
    let selected = chosen.len();
    let chosen = shard.select(chosen, |e| e.id());
    prepare_output(&opts.out)?;
    let _lock = crate::lock::acquire(&opts.out)?;
    if shard != Shard::WHOLE {
        let ids: Vec<&str> = chosen.iter().map(|e| e.id()).collect();
        eprintln!(
            "shard {shard}: {} of {selected} selected experiment(s): {}",
            ids.len(),
            if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            }
        );
    }
    let mut summary = RunSummary::default();
    let mut jobs = Vec::new();
    for exp in chosen {
        let key = opts.key_of(exp);
        // A timing result without its machine description predates running alone: rerun it.
        let usable = |r: ExperimentResult| !exp.measures_time() || r.machine.is_some();
        if !opts.redo && cache::load(&opts.out, &key).is_some_and(usable) {
            summary.cached.push(exp.id().to_string());
        } else {
            jobs.push((exp, key));
        }
    }
    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    for (id, outcome) in run_phases(jobs, opts, &multi, &cancel) {
        match outcome {
            Ok(()) => summary.ran.push(id),
            Err(ExperimentError::Cancelled) => {}
            Err(e) => summary.failed.push((id, e.to_string())),
        }
    }
    summary.cancelled = cancel.load(Ordering::SeqCst);
    let entries = report_entries(&all, opts, &summary);
    let info = RunInfo {
        mode: opts.mode,
        seed: opts.seed,
        seconds: start.elapsed().as_secs_f64(),
    };
    summary.index = report::write(&opts.out, &entries, &info)?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Creates `out`, `out/results` and `out/figures` and checks each is writable by creating
/// (and removing) a temporary file, before any experiment runs.
///
/// # Errors
/// [`BenchError::OutputIsFile`] when `out` is a file; [`BenchError::OutputNotWritable`]
/// naming the folder that failed.
pub fn prepare_output(out: &Path) -> Result<(), BenchError> {
    if out.exists() && !out.is_dir() {
        return Err(BenchError::OutputIsFile(out.to_path_buf()));
    }
    for dir in [
        out.to_path_buf(),
        out.join(RESULTS_DIR),
        out.join(FIGURES_DIR),
    ] {
        let fail = |source| BenchError::OutputNotWritable {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(fail)?;
        tempfile::NamedTempFile::new_in(&dir).map_err(fail)?;
    }
    Ok(())
}

type Job<'a> = (&'a dyn Experiment, ResultKey);

/// Runs `jobs` in the phases of [`schedule::plan`]: timing experiments first, one at a time,
/// then the rest on `opts.threads` workers; stops starting phases after Ctrl-C.
fn run_phases(
    jobs: Vec<Job<'_>>,
    opts: &RunOptions,
    multi: &MultiProgress,
    cancel: &Arc<AtomicBool>,
) -> Vec<(String, Result<(), ExperimentError>)> {
    let mut outcomes = Vec::new();
    for phase in schedule::plan(jobs, |(exp, _)| exp.measures_time(), opts.threads) {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        if phase.alone && opts.progress {
            let ids: Vec<&str> = phase.jobs.iter().map(|(e, _)| e.id()).collect();
            multi.suspend(|| {
                eprintln!(
                    "timing experiments first, one at a time with nothing else running: {}",
                    ids.join(", ")
                );
            });
        }
        outcomes.extend(run_jobs(phase, opts, multi, cancel));
    }
    outcomes
}

/// Runs one phase's jobs on `phase.workers` threads and returns when all have finished. Jobs
/// of an `alone` phase get the machine description on their result.
fn run_jobs(
    phase: schedule::Phase<Job<'_>>,
    opts: &RunOptions,
    multi: &MultiProgress,
    cancel: &Arc<AtomicBool>,
) -> Vec<(String, Result<(), ExperimentError>)> {
    let alone = phase.alone;
    // Jobs side by side share the thread setting: each gets its share as a budget, so their
    // GEMMs and parallel kernels never oversubscribe the machine (issue 21).
    let budget = (opts.threads / phase.workers.max(1)).max(1);
    let queue = Mutex::new(VecDeque::from(phase.jobs));
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..phase.workers.max(1) {
            scope.spawn(|| {
                while !cancel.load(Ordering::SeqCst) {
                    let Some((exp, key)) = queue.lock().expect("queue lock").pop_front() else {
                        break;
                    };
                    let machine = alone.then(|| MachineInfo::detect(opts.threads, true));
                    let outcome = flow_core::parallel::with_thread_budget(budget, || {
                        run_one(exp, &key, opts, multi, cancel, machine)
                    });
                    let line = match &outcome {
                        Ok(()) => format!("done    {}", exp.id()),
                        Err(ExperimentError::Cancelled) => format!("stopped {}", exp.id()),
                        Err(e) => format!("FAILED  {}: {e}", exp.id()),
                    };
                    if opts.progress {
                        multi.suspend(|| eprintln!("{line}"));
                    }
                    done.lock()
                        .expect("result lock")
                        .push((exp.id().to_string(), outcome));
                }
            });
        }
    });
    done.into_inner().expect("result lock")
}

fn progress_bar(multi: &MultiProgress, id: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:<28} [{bar:28}] {pos}/{len} {elapsed_precise} ETA {eta_precise} {msg}",
    )
    .expect("valid progress template")
    .progress_chars("=> ");
    let bar = multi.add(
        ProgressBar::new(1)
            .with_style(style)
            .with_prefix(id.to_string()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// The exact command that reruns one experiment.
pub fn rerun_command(id: &str, opts: &RunOptions) -> String {
    let mut cmd = format!(
        "cargo run --release -p flow-bench --bin flows -- reproduce --experiment {id} {} --seed {}",
        opts.mode.flag(),
        opts.seed
    );
    for o in opts.overrides.iter().filter(|o| o.experiment == id) {
        cmd.push_str(&format!(" --set '{o}'"));
    }
    if opts.out != Path::new(DEFAULT_OUT) {
        let out = opts.out.display().to_string();
        let quoted = if out.contains([' ', '\'', '"']) {
            format!("'{}'", out.replace('\'', "'\\''"))
        } else {
            out
        };
        cmd.push_str(&format!(" --out {quoted}"));
    }
    cmd + " --redo"
}

fn run_one(
    exp: &dyn Experiment,
    key: &ResultKey,
    opts: &RunOptions,
    multi: &MultiProgress,
    cancel: &Arc<AtomicBool>,
    machine: Option<MachineInfo>,
) -> Result<(), ExperimentError> {
    let bar = progress_bar(multi, exp.id());
    let final_dir = opts.out.join(key.figure_dir());
    let staging = opts
        .out
        .join(FIGURES_DIR)
        .join(format!(".staging-{}", key.stem()));
    let _ = std::fs::remove_dir_all(&staging);
    let preset = opts.preset_of(exp);
    let work = opts.out.join(WORK_DIR).join(key.stem());
    if opts.redo {
        let _ = std::fs::remove_dir_all(&work);
    }
    let mut ctx = RunContext::new(
        opts.mode,
        opts.seed,
        preset.clone(),
        staging.clone(),
        key.figure_dir(),
        bar.clone(),
        cancel.clone(),
    )
    .with_work_dir(work.clone());
    let start = Instant::now();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exp.run(&mut ctx)));
    bar.finish_and_clear();
    let outcome =
        run.unwrap_or_else(|payload| Err(ExperimentError::Failed(panic_message(&payload))));
    let mut outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    outcome.figures.extend(ctx.take_figures());
    let io = |e: std::io::Error| {
        ExperimentError::Failed(format!("moving figures into {}: {e}", final_dir.display()))
    };
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(io)?;
    }
    if staging.exists() {
        std::fs::rename(&staging, &final_dir).map_err(io)?;
    }
    let result = ExperimentResult {
        experiment: exp.id().to_string(),
        paper: exp.paper(),
        mode: opts.mode,
        seed: opts.seed,
        preset_hash: key.preset_hash.clone(),
        version: key.version,
        preset,
        seconds: start.elapsed().as_secs_f64(),
        finished_unix: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        command: rerun_command(exp.id(), opts),
        outcome,
        machine,
    };
    cache::store(&opts.out, key, &result).map_err(|e| ExperimentError::Failed(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panicked: {text}")
}

fn report_entries<'a>(
    all: &'a [Box<dyn Experiment>],
    opts: &RunOptions,
    summary: &RunSummary,
) -> Vec<Entry<'a>> {
    all.iter()
        .map(|exp| {
            let key = opts.key_of(exp.as_ref());
            let id = exp.id().to_string();
            let result = cache::load_checked(&opts.out, &key).ok().flatten();
            let status = if let Some((_, why)) = summary.failed.iter().find(|(f, _)| *f == id) {
                Status::Failed(why.clone())
            } else if summary.ran.contains(&id) {
                Status::Ran
            } else if result.is_some() {
                Status::Cached
            } else {
                Status::Missing
            };
            let command = rerun_command(&id, opts);
            Entry {
                experiment: exp.as_ref(),
                key,
                result,
                status,
                command,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
