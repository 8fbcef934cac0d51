//! Errors of the command-line program: bad selections, unusable output folders, I/O.

use std::path::PathBuf;

/// What can stop `flows reproduce` (experiment failures are reported per experiment instead).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// `--experiment` named something the registry does not hold.
    #[error("unknown experiment `{name}`; known experiments: {known}")]
    UnknownExperiment {
        /// The name given.
        name: String,
        /// Comma-separated registered ids.
        known: String,
    },
    /// A `--set` override names no selected experiment or no field of its preset.
    #[error("--set {setting}: {why}")]
    BadOverride {
        /// The override as given.
        setting: String,
        /// What is wrong with it.
        why: String,
    },
    /// A preset value (after `--set`) is out of its range or shape; nothing has run.
    #[error(transparent)]
    Preset(#[from] crate::validate::PresetError),
    /// The output folder is held by another running `flows reproduce`.
    #[error(
        "output folder {path} is in use by another flows process (pid {pid}); wait for it to finish or choose another --out (lock file {lock})"
    )]
    OutputLocked {
        /// The output folder.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The process holding it.
        pid: u32,
    },
    /// The selection matched no registered experiment.
    #[error("no registered experiment matches the selection ({0})")]
    EmptySelection(String),
    /// A command-line argument is out of its range.
    #[error("{arg}: {why}")]
    BadArgument {
        /// The argument as given.
        arg: String,
        /// What is allowed.
        why: String,
    },
    /// `--out` names an existing file, not a folder.
    #[error("--out {0} is a file; give a folder (it is created if missing)")]
    OutputIsFile(PathBuf),
    /// The output folder cannot be created or written.
    #[error("output folder {path} is not writable: {source}")]
    OutputNotWritable {
        /// The folder (or the sub-folder that failed).
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A result could not be serialised.
    #[error("serialising {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// Reference data could not be generated, read or cached.
    #[error(transparent)]
    Data(#[from] flow_data::DataError),
    /// Some experiments failed; the others' results and the report were written.
    #[error("{} experiment(s) failed: {}", .0.len(), .0.join("; "))]
    ExperimentsFailed(Vec<String>),
    /// Ctrl-C: finished results are kept and the report covers them.
    #[error("interrupted; {finished} finished result(s) kept, rerun the same command to continue")]
    Interrupted {
        /// Results on disk for this selection.
        finished: usize,
    },
}

impl BenchError {
    /// The process exit status for this error: 2 for usage errors, 130 for Ctrl-C, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::UnknownExperiment { .. }
            | BenchError::EmptySelection(_)
            | BenchError::BadOverride { .. }
            | BenchError::Preset(_)
            | BenchError::OutputIsFile(_)
            | BenchError::BadArgument { .. } => 2,
            BenchError::Interrupted { .. } => 130,
            _ => 1,
        }
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> BenchError {
        BenchError::Io {
            path: path.into(),
            source,
        }
    }
}
