//! Results on disk: `OUT/results/<experiment>-<preset-hash>-seed<seed>.{json,csv}`, written
//! atomically (temporary file in the same folder, then rename), so an interrupted run never
//! leaves a half-written result.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::experiment::{Experiment, Mode, Outcome};
use crate::paper::PaperId;

/// Sub-folder of the output folder that holds raw results.
pub const RESULTS_DIR: &str = "results";
/// Sub-folder of the output folder that holds figures.
pub const FIGURES_DIR: &str = "figures";

/// What identifies a result: experiment, preset (hashed with the experiment version), seed;
/// mode and version are kept beside the hash so [`load`] can check a stored result against
/// every part of its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultKey {
    /// Experiment id.
    pub experiment: String,
    /// Mode the preset belongs to.
    pub mode: Mode,
    /// Experiment version ([`Experiment::version`]).
    pub version: u32,
    /// 16 hex digits of the FNV-1a hash of the preset JSON and version.
    pub preset_hash: String,
    /// Seed.
    pub seed: u64,
}

impl ResultKey {
    /// The key of `experiment` in `mode` with `seed`.
    pub fn new(experiment: &dyn Experiment, mode: Mode, seed: u64) -> ResultKey {
        ResultKey::for_preset(experiment, mode, &experiment.preset(mode), seed)
    }

    /// The key of `experiment` run with `preset` (a mode's preset after `--set` overrides).
    pub fn for_preset(
        experiment: &dyn Experiment,
        mode: Mode,
        preset: &serde_json::Value,
        seed: u64,
    ) -> ResultKey {
        ResultKey {
            experiment: experiment.id().to_string(),
            mode,
            version: experiment.version(),
            preset_hash: preset_hash(experiment.version(), preset),
            seed,
        }
    }

    /// File stem shared by the JSON, the CSV and the figure folder.
    pub fn stem(&self) -> String {
        format!("{}-{}-seed{}", self.experiment, self.preset_hash, self.seed)
    }

    /// `OUT/results/<stem>.json`.
    pub fn json_path(&self, out: &Path) -> PathBuf {
        out.join(RESULTS_DIR).join(format!("{}.json", self.stem()))
    }

    /// `OUT/results/<stem>.csv`.
    pub fn csv_path(&self, out: &Path) -> PathBuf {
        out.join(RESULTS_DIR).join(format!("{}.csv", self.stem()))
    }

    /// `figures/<stem>`, relative to the output folder.
    pub fn figure_dir(&self) -> String {
        format!("{FIGURES_DIR}/{}", self.stem())
    }
}

/// 16 hex digits of the FNV-1a hash of `v<version>:core<N>:<preset JSON>`, where `N` is
/// [`flow_core::NUMERICS_VERSION`]: a new engine reruns every experiment.
pub fn preset_hash(version: u32, preset: &serde_json::Value) -> String {
    let core = flow_core::NUMERICS_VERSION;
    format!(
        "{:016x}",
        fnv1a(format!("v{version}:core{core}:{preset}").as_bytes())
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A finished experiment as stored on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// Experiment id.
    pub experiment: String,
    /// Report page.
    pub paper: PaperId,
    /// Mode it ran in.
    pub mode: Mode,
    /// Seed.
    pub seed: u64,
    /// Hash of preset and version (see [`ResultKey`]).
    pub preset_hash: String,
    /// Experiment version it ran with (0 in files written before the field existed, which
    /// therefore rerun).
    #[serde(default)]
    pub version: u32,
    /// The preset it ran with.
    pub preset: serde_json::Value,
    /// Wall time of the run in seconds.
    pub seconds: f64,
    /// Unix time (seconds) when it finished.
    pub finished_unix: u64,
    /// The exact command that reruns it.
    pub command: String,
    /// Tables, figures, notes.
    pub outcome: Outcome,
    /// The machine a timing experiment ([`Experiment::measures_time`]) ran on, alone; `None`
    /// for the others (and in files written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<crate::machine::MachineInfo>,
}

/// Loads the result for `key`, or `None` if there is none, it cannot be read, or it does not
/// match its key (see [`load_checked`]); a damaged or mismatched file gets a warning on stderr
/// and is rerun.
pub fn load(out: &Path, key: &ResultKey) -> Option<ExperimentResult> {
    load_checked(out, key).unwrap_or_else(|why| {
        eprintln!("warning: rerunning {}: {why}", key.json_path(out).display());
        None
    })
}

/// The result for `key`: `Ok(None)` if no file exists, `Err` (the reason) if the file is
/// unreadable, belongs to another experiment, mode, seed, version or preset (its stored preset
/// is hashed again), or one of its figures is missing.
///
/// # Errors
/// The reason the stored file cannot stand for `key`.
pub fn load_checked(out: &Path, key: &ResultKey) -> Result<Option<ExperimentResult>, String> {
    let path = key.json_path(out);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let result: ExperimentResult =
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable result: {e}"))?;
    verify(out, key, &result)?;
    Ok(Some(result))
}

/// Checks a stored result against its key and its figures against the output folder.
///
/// # Errors
/// What does not match, in words.
pub fn verify(out: &Path, key: &ResultKey, result: &ExperimentResult) -> Result<(), String> {
    let mismatch = |what: &str, stored: &dyn std::fmt::Display, want: &dyn std::fmt::Display| {
        Err(format!(
            "stored {what} {stored} does not match the key's {want}"
        ))
    };
    if result.experiment != key.experiment {
        return mismatch("experiment", &result.experiment, &key.experiment);
    }
    if result.mode != key.mode {
        return mismatch("mode", &result.mode.flag(), &key.mode.flag());
    }
    if result.seed != key.seed {
        return mismatch("seed", &result.seed, &key.seed);
    }
    if result.version != key.version {
        return mismatch("version", &result.version, &key.version);
    }
    let rehashed = preset_hash(result.version, &result.preset);
    if result.preset_hash != key.preset_hash || rehashed != key.preset_hash {
        return mismatch("preset hash", &rehashed, &key.preset_hash);
    }
    for figure in &result.outcome.figures {
        let rel = Path::new(&figure.path);
        let inside = rel.is_relative()
            && rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || !out.join(rel).is_file() {
            return Err(format!("figure {} is missing", figure.path));
        }
    }
    Ok(())
}

/// Stores `result` as JSON and its tables as CSV, each atomically.
///
/// # Errors
/// [`BenchError::Io`] or [`BenchError::Json`] if a file cannot be written.
pub fn store(out: &Path, key: &ResultKey, result: &ExperimentResult) -> Result<(), BenchError> {
    let json_path = key.json_path(out);
    let json = serde_json::to_string_pretty(result).map_err(|source| BenchError::Json {
        path: json_path.clone(),
        source,
    })?;
    write_atomic(&key.csv_path(out), tables_csv(result).as_bytes())?;
    write_atomic(&json_path, json.as_bytes())
}

/// The tables of a result as CSV: `experiment,seed,table,setting,ours,paper,verdict`.
pub fn tables_csv(result: &ExperimentResult) -> String {
    let mut csv = String::from("experiment,seed,table,setting,ours,paper,verdict\n");
    for table in &result.outcome.tables {
        for row in &table.rows {
            let fields = [
                csv_field(&result.experiment),
                result.seed.to_string(),
                csv_field(&table.caption),
                csv_field(&row.setting),
                format!("{:e}", row.ours),
                csv_field(&row.paper),
                row.verdict.label().to_string(),
            ];
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
    }
    csv
}

/// Quotes a CSV field when it contains a comma, quote or line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes `bytes` to `path` via a temporary file in the same folder and a rename.
///
/// # Errors
/// [`BenchError::Io`] if the folder is missing or unwritable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| BenchError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| BenchError::io(path, e))?;
    tmp.flush().map_err(|e| BenchError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| BenchError::io(path, e.error))?;
    Ok(())
}
