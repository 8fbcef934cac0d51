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
    /// `flows report` was given a folder that does not exist.
    #[error("{0} does not exist; give the --out folders of `flows reproduce` runs")]
    ReportInputMissing(PathBuf),
    /// `flows report` was given something that is not an output folder of `flows reproduce`.
    #[error("{path} is not a flows output folder: {why}")]
    NotAnOutputFolder {
        /// The path given.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// A stored result that `flows report` needs cannot stand for its key (unreadable JSON,
    /// another experiment, mode, seed, version or preset, a missing figure).
    #[error(
        "{path}: {why}; delete it (and its figure folder) or rerun the experiment into that folder"
    )]
    CorruptResult {
        /// The result file.
        path: PathBuf,
        /// Why it is refused.
        why: String,
    },
    /// Two folders hold different results for the same key (two runs of one experiment with
    /// the same preset and seed): the report would have to pick one.
    #[error(
        "different results for {stem} in {first} and {second}; a result key names one run, so delete one of them (results/{stem}.* and figures/{stem}/) or leave its folder out"
    )]
    ConflictingResults {
        /// The result stem (`<experiment>-<preset hash>-seed<seed>`).
        stem: String,
        /// One file.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// None of the folders holds a result for the mode, seed and presets asked for.
    #[error(
        "no result in {dirs} matches {} --seed {seed} with these presets ({other} result file(s) there belong to other modes, seeds, presets or versions); pass the mode, --seed and --set of the reproduce runs",
        .mode.flag()
    )]
    NoResults {
        /// The folders, comma-separated.
        dirs: String,
        /// The mode asked for.
        mode: crate::experiment::Mode,
        /// The seed asked for.
        seed: u64,
        /// Result files found that match no key.
        other: usize,
    },
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
            | BenchError::BadArgument { .. }
            | BenchError::ReportInputMissing(_)
            | BenchError::NotAnOutputFolder { .. }
            | BenchError::NoResults { .. } => 2,
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
