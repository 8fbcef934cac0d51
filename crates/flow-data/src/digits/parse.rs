//! Parsing the digits CSV (plain or gzip) with typed errors naming file, line and problem.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::{Digits, PIXELS};
use crate::DataError;

/// Longest line read (bytes): a row of 65 small integers takes under 200, so a longer line is
/// not a digits row, and the cap keeps a corrupt or hostile file (a gzip bomb without line
/// breaks) from growing one line without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// Largest pixel count in the UCI 8×8 digits (each pixel counts on-bits in a 4×4 block).
pub const MAX_COUNT: f64 = 16.0;

/// Reads `path`, gunzipping it if the name ends in `.gz`.
pub(super) fn load(path: &Path) -> Result<Digits, DataError> {
    let file = std::fs::File::open(path).map_err(|error| DataError::Open {
        source_name: path.to_path_buf(),
        error,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        parse_csv(BufReader::new(GzDecoder::new(file)), path)
    } else {
        parse_csv(BufReader::new(file), path)
    }
}

/// Parses gzip-compressed CSV bytes.
pub(super) fn parse_gz<R: Read>(reader: R, source_name: &Path) -> Result<Digits, DataError> {
    parse_csv(BufReader::new(GzDecoder::new(reader)), source_name)
}

/// Parses CSV rows `p₁, …, p₆₄, label`; blank lines are skipped.
pub(super) fn parse_csv<R: BufRead>(
    mut reader: R,
    source_name: &Path,
) -> Result<Digits, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut buf = String::new();
    let mut line = 0;
    loop {
        line += 1;
        buf.clear();
        let read_error = |error| DataError::Read {
            source_name: source_name.to_path_buf(),
            line,
            error,
        };
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut buf)
            .map_err(read_error)?;
        if read > MAX_LINE {
            let why = format!("line longer than {MAX_LINE} bytes");
            return Err(read_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                why,
            )));
        }
        if read == 0 {
            break;
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        let row = parse_row(text, source_name, line)?;
        pixels.extend_from_slice(&row[..PIXELS]);
        labels.push(row[PIXELS] as u8);
    }
    Ok(Digits {
        counts: pixels,
        labels,
    })
}

/// Parses and range-checks one row of 65 fields.
fn parse_row(text: &str, source_name: &Path, line: usize) -> Result<Vec<f64>, DataError> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.len() != PIXELS + 1 {
        return Err(DataError::WrongDimension {
            source_name: source_name.to_path_buf(),
            line,
            expected: PIXELS + 1,
            found: fields.len(),
        });
    }
    let mut row = Vec::with_capacity(PIXELS + 1);
    for (k, f) in fields.iter().enumerate() {
        let field = k + 1;
        let value: f64 = f.trim().parse().map_err(|_| DataError::Parse {
            source_name: source_name.to_path_buf(),
            line,
            field,
            text: f.to_string(),
        })?;
        if !value.is_finite() {
            return Err(DataError::NotFinite {
                source_name: source_name.to_path_buf(),
                line,
                field,
                value,
            });
        }
        let (max, expected) = if k < PIXELS {
            (MAX_COUNT, "integers 0..=16")
        } else {
            (9.0, "labels 0..=9")
        };
        if value < 0.0 || value > max || value.fract() != 0.0 {
            return Err(DataError::OutOfRange {
                source_name: source_name.to_path_buf(),
                line,
                field,
                value,
                expected,
            });
        }
        row.push(value);
    }
    Ok(row)
}
