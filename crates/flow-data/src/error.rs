//! Typed errors for everything that comes from outside the program (files, parsed data).

use std::path::PathBuf;

/// An error while reading or validating a data file.
///
/// Every variant names the file (`source` is a path or a label such as `"<memory>"`), and
/// where it applies the 1-based line and the problem, so a message reads like
/// `digits.csv.gz, line 17: expected 65 fields, found 64`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened.
    #[error("{source_name}: cannot open file: {error}")]
    Open {
        /// The file.
        source_name: PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// Reading or decompressing failed (truncated or corrupt gzip stream, I/O failure).
    #[error("{source_name}, line {line}: read failed (truncated or corrupt file?): {error}")]
    Read {
        /// The file.
        source_name: PathBuf,
        /// The line being read when the failure happened (1-based).
        line: usize,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// A row has the wrong number of fields.
    #[error("{source_name}, line {line}: expected {expected} fields, found {found}")]
    WrongDimension {
        /// The file.
        source_name: PathBuf,
        /// The line (1-based).
        line: usize,
        /// Expected number of fields.
        expected: usize,
        /// Number of fields found.
        found: usize,
    },
    /// A field is not a number.
    #[error("{source_name}, line {line}, field {field}: cannot parse {text:?} as a number")]
    Parse {
        /// The file.
        source_name: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The field (1-based).
        field: usize,
        /// The offending text.
        text: String,
    },
    /// A field is NaN or infinite.
    #[error("{source_name}, line {line}, field {field}: value is not finite ({value})")]
    NotFinite {
        /// The file.
        source_name: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The field (1-based).
        field: usize,
        /// The value read.
        value: f64,
    },
    /// A field is finite but outside its allowed range.
    #[error("{source_name}, line {line}, field {field}: value {value} outside {expected}")]
    OutOfRange {
        /// The file.
        source_name: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The field (1-based).
        field: usize,
        /// The value read.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// The file holds fewer rows than required.
    #[error("{source_name}: expected {expected} rows, found {found}")]
    TooFewRows {
        /// The file.
        source_name: PathBuf,
        /// Rows required.
        expected: usize,
        /// Rows found.
        found: usize,
    },
    /// A cached array file has an unexpected header or length.
    #[error("{source_name}: malformed cache file: {problem}")]
    MalformedCache {
        /// The file.
        source_name: PathBuf,
        /// What is wrong.
        problem: String,
    },
}
