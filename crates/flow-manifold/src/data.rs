//! Loaders for the vendored manifold data (`crates/flow-manifold/data/`, see its README):
//! the four Earth event sets on S² and RNA backbone torsions on T⁷, with typed errors that
//! name the offending row, and a seeded 80/10/10 split.

use flate2::read::GzDecoder;
use flow_core::{DType, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::manifold::{Manifold, Torus};

/// Errors from reading or validating manifold data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A row does not parse.
    #[error("row {row}: {message}")]
    Parse {
        /// Zero-based data row (comment and header lines not counted).
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// A row holds a NaN or infinite coordinate.
    #[error("row {row}: non-finite coordinate")]
    NonFinite {
        /// Zero-based data row.
        row: usize,
    },
    /// A row lies farther than the tolerance from the manifold.
    #[error("row {row}: distance {distance:.3e} to {manifold} exceeds tolerance {tolerance:.1e}")]
    OffManifold {
        /// Zero-based data row.
        row: usize,
        /// `‖x − π(x)‖`.
        distance: f64,
        /// The manifold's name.
        manifold: String,
        /// The tolerance.
        tolerance: f64,
    },
}

/// The four Earth event sets of arXiv:2312.09852, §5.2 (RSGM's CSV copies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EarthSet {
    /// Volcanic eruptions (827 events).
    Volcano,
    /// Earthquakes (6120).
    Earthquake,
    /// Floods (4875).
    Flood,
    /// Fires (12809).
    Fire,
}

impl EarthSet {
    /// All four, in the paper's table order.
    pub const ALL: [EarthSet; 4] = [
        EarthSet::Volcano,
        EarthSet::Earthquake,
        EarthSet::Flood,
        EarthSet::Fire,
    ];
    /// The vendored file name.
    pub fn file_name(self) -> &'static str {
        match self {
            EarthSet::Volcano => "volerup.csv.gz",
            EarthSet::Earthquake => "quakes_all.csv.gz",
            EarthSet::Flood => "flood.csv.gz",
            EarthSet::Fire => "fire.csv.gz",
        }
    }
    /// A display name.
    pub fn label(self) -> &'static str {
        match self {
            EarthSet::Volcano => "Volcano",
            EarthSet::Earthquake => "Earthquake",
            EarthSet::Flood => "Flood",
            EarthSet::Fire => "Fire",
        }
    }
}

/// The folder of the vendored data files.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn read_text(path: &Path) -> Result<String, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(io)?;
    } else {
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok(text)
}

/// Parses numeric rows from text: `#` lines and a non-numeric header line are skipped,
/// fields are split on `sep`, the first `skip` fields are ignored and exactly `width`
/// numbers are read. NaN/∞ give [`DataError::NonFinite`] naming the row.
pub fn parse_rows(
    text: &str,
    sep: char,
    skip: usize,
    width: usize,
) -> Result<Vec<Vec<f64>>, DataError> {
    let mut rows = Vec::new();
    let mut header_allowed = true;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(sep).map(str::trim).collect();
        let row = rows.len();
        if fields.len() != skip + width {
            return Err(DataError::Parse {
                row,
                message: format!("{} fields, expected {}", fields.len(), skip + width),
            });
        }
        let parsed: Result<Vec<f64>, _> = fields[skip..].iter().map(|f| f.parse::<f64>()).collect();
        match parsed {
            Ok(v) if v.iter().all(|x| x.is_finite()) => rows.push(v),
            Ok(_) => return Err(DataError::NonFinite { row }),
            Err(_) if header_allowed => {}
            Err(e) => {
                return Err(DataError::Parse {
                    row,
                    message: format!("{e} in {line:?}"),
                });
            }
        }
        header_allowed = false;
    }
    Ok(rows)
}

/// Unit vectors `(cos φ cos λ, cos φ sin λ, sin φ)` of (latitude φ, longitude λ) in degrees.
pub fn lat_lon_to_sphere(rows: &[Vec<f64>]) -> Tensor {
    let v: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            let (phi, lam) = (r[0].to_radians(), r[1].to_radians());
            [phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin()]
        })
        .collect();
    Tensor::from_vec(v, &[rows.len(), 3])
}

/// Checks that every row is finite and within `tolerance` of the manifold.
///
/// # Errors
/// [`DataError::NonFinite`] or [`DataError::OffManifold`] for the first bad row.
pub fn validate_on_manifold(
    manifold: &dyn Manifold,
    x: &Tensor,
    tolerance: f64,
) -> Result<(), DataError> {
    let m = x.dim(1);
    for (row, chunk) in x.to_vec_f64().chunks(m).enumerate() {
        if chunk.iter().any(|v| !v.is_finite()) {
            return Err(DataError::NonFinite { row });
        }
    }
    for (row, distance) in manifold
        .distance_to_manifold(x)
        .to_vec_f64()
        .into_iter()
        .enumerate()
    {
        if distance > tolerance {
            return Err(DataError::OffManifold {
                row,
                distance,
                manifold: manifold.name(),
                tolerance,
            });
        }
    }
    Ok(())
}

/// The on-manifold tolerance used by the loaders (round-off of f64 trigonometry is ~1e-16).
pub const ON_MANIFOLD_TOLERANCE: f64 = 1e-6;

/// Loads an Earth set as `[N, 3]` f64 unit vectors.
///
/// # Errors
/// If the file is missing, a row does not parse, or a coordinate is not finite.
pub fn load_earth(set: EarthSet) -> Result<Tensor, DataError> {
    load_earth_file(&data_dir().join(set.file_name()))
}

/// Loads a (latitude, longitude) CSV (optionally gzipped) as unit vectors on S².
///
/// # Errors
/// As [`load_earth`].
pub fn load_earth_file(path: &Path) -> Result<Tensor, DataError> {
    let rows = parse_rows(&read_text(path)?, ',', 0, 2)?;
    let x = lat_lon_to_sphere(&rows);
    validate_on_manifold(&crate::manifold::Sphere::new(2), &x, ON_MANIFOLD_TOLERANCE)?;
    Ok(x)
}

/// Loads the RNA torsions (7 angles in degrees after a PDB id and a residue) as `[N, 14]`
/// points of T⁷.
///
/// # Errors
/// As [`load_earth`].
pub fn load_rna() -> Result<Tensor, DataError> {
    let rows = parse_rows(&read_text(&data_dir().join("rna.tsv.gz"))?, '\t', 2, 7)?;
    let deg: Vec<f64> = rows.iter().flatten().map(|a| a.to_radians()).collect();
    let torus = Torus::new(7);
    let x = torus.from_angles(&Tensor::from_vec(deg, &[rows.len(), 7]));
    validate_on_manifold(&torus, &x, ON_MANIFOLD_TOLERANCE)?;
    Ok(x)
}

/// A seeded 80/10/10 train/validation/test split of the rows (the official code's
/// proportions; its numpy permutation is not reproduced bit for bit).
pub fn split_80_10_10(x: &Tensor, rng: &mut dyn Rng) -> (Tensor, Tensor, Tensor) {
    let n = x.dim(0);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    let (a, b) = (n * 8 / 10, n * 9 / 10);
    let pick = |s: &[usize]| x.index_select(0, s).to_dtype(DType::F64);
    (pick(&idx[..a]), pick(&idx[a..b]), pick(&idx[b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_files_load_with_expected_sizes() {
        let sizes: Vec<usize> = EarthSet::ALL
            .iter()
            .map(|s| load_earth(*s).expect("vendored file").dim(0))
            .collect();
        assert_eq!(sizes, vec![827, 6120, 4875, 12809]);
        assert_eq!(load_rna().expect("vendored rna").shape(), &[9478, 14]);
    }

    #[test]
    fn nan_row_is_a_typed_error_with_its_index() {
        let text = "# source\nlat,lon\n1.0,2.0\n3.0,NaN\n";
        match parse_rows(text, ',', 0, 2) {
            Err(DataError::NonFinite { row }) => assert_eq!(row, 1),
            other => panic!("expected NonFinite, got {other:?}"),
        }
        assert!(matches!(
            parse_rows("1,2\n3,x\n", ',', 0, 2),
            Err(DataError::Parse { row: 1, .. })
        ));
    }

    #[test]
    fn off_manifold_row_is_named() {
        let x = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 0.0, 1.1, 0.0], &[2, 3]);
        match validate_on_manifold(&crate::manifold::Sphere::new(2), &x, 1e-6) {
            Err(DataError::OffManifold { row, distance, .. }) => {
                assert_eq!(row, 1);
                assert!((distance - 0.1).abs() < 1e-12);
            }
            other => panic!("expected OffManifold, got {other:?}"),
        }
    }
}
