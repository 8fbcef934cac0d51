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

/// What identifies a result: experiment, preset (hashed with the experiment version), seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultKey {
    /// Experiment id.
    pub experiment: String,
    /// 16 hex digits of the FNV-1a hash of the preset JSON and version.
    pub preset_hash: String,
    /// Seed.
    pub seed: u64,
}

impl ResultKey {
    /// The key of `experiment` in `mode` with `seed`.
    pub fn new(experiment: &dyn Experiment, mode: Mode, seed: u64) -> ResultKey {
        ResultKey::for_preset(experiment, &experiment.preset(mode), seed)
    }

    /// The key of `experiment` run with `preset` (a mode's preset after `--set` overrides).
    pub fn for_preset(
        experiment: &dyn Experiment,
        preset: &serde_json::Value,
        seed: u64,
    ) -> ResultKey {
        let text = format!("v{}:{}", experiment.version(), preset);
        ResultKey {
            experiment: experiment.id().to_string(),
            preset_hash: format!("{:016x}", fnv1a(text.as_bytes())),
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
}

/// Loads the result for `key`, or `None` if there is none or it cannot be read (a damaged
/// file counts as missing, with a warning on stderr, and is rerun).
pub fn load(out: &Path, key: &ResultKey) -> Option<ExperimentResult> {
    let path = key.json_path(out);
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(result) => Some(result),
        Err(e) => {
            eprintln!(
                "warning: ignoring unreadable result {}: {e}",
                path.display()
            );
            None
        }
    }
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
