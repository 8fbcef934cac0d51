//! The UCI 8×8 handwritten digits (Alpaydin & Kaynak, CC BY 4.0; vendored in `data/`), with
//! seeded splits, dequantisation, standardisation and rotated-digit domain shifts (the local
//! analogue of the competence-region experiments; see `competence-regions.md` §4).

mod parse;
mod rotate;
mod transform;

use std::path::Path;

use flow_core::{DType, Tensor};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

use crate::DataError;

pub use parse::{MAX_COUNT, MAX_LINE};
pub use rotate::{Domain, DomainShift, rotate_images};
pub use transform::{Standardizer, dequantize};

/// Image side length.
pub const SIDE: usize = 8;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// Rows in the full data set.
pub const ROWS: usize = 1797;

static VENDORED: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Digit images as raw pixel counts (0..=16, row-major) with labels 0..=9.
#[derive(Clone, Debug, PartialEq)]
pub struct Digits {
    /// `len · 64` pixel counts, row-major per image.
    pub counts: Vec<f64>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// The vendored full data set (1797 images), parsed from bytes compiled into the crate.
    ///
    /// # Panics
    /// Never in practice: the vendored file is checked by a test.
    ///
    /// ```
    /// let d = flow_data::digits::Digits::vendored();
    /// assert_eq!(d.len(), 1797);
    /// assert_eq!(d.images().shape(), &[1797, 64]);
    /// ```
    pub fn vendored() -> Digits {
        Self::parse_gz(VENDORED, Path::new("data/digits.csv.gz")).expect("vendored digits parse")
    }

    /// Loads a digits CSV from `path` (gunzipped if it ends in `.gz`).
    ///
    /// # Errors
    /// [`DataError`] naming the file, and the line and field where it applies: the file
    /// cannot be opened, the gzip stream is truncated or corrupt, a row does not have 65
    /// fields, a field is not a number, is NaN/infinite, or is out of range.
    pub fn load(path: impl AsRef<Path>) -> Result<Digits, DataError> {
        parse::load(path.as_ref())
    }

    /// Parses gzip-compressed CSV bytes; `source_name` labels errors.
    ///
    /// # Errors
    /// As [`Digits::load`].
    pub fn parse_gz(reader: impl std::io::Read, source_name: &Path) -> Result<Digits, DataError> {
        parse::parse_gz(reader, source_name)
    }

    /// Parses plain CSV text; `source_name` labels errors.
    ///
    /// # Errors
    /// As [`Digits::load`].
    pub fn parse_csv(
        reader: impl std::io::BufRead,
        source_name: &Path,
    ) -> Result<Digits, DataError> {
        parse::parse_csv(reader, source_name)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images scaled to `[0, 1]` (counts / 16), shape `[len, 64]`, f64.
    pub fn images(&self) -> Tensor {
        let v = self.counts.iter().map(|c| c / MAX_COUNT).collect();
        Tensor::from_vec(v, &[self.len(), PIXELS])
    }

    /// The raw counts as a `[len, 64]` tensor of `dtype`.
    pub fn counts_tensor(&self, dtype: DType) -> Tensor {
        Tensor::from_vec(self.counts.clone(), &[self.len(), PIXELS]).to_dtype(dtype)
    }

    /// The images at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of bounds.
    pub fn subset(&self, indices: &[usize]) -> Digits {
        let mut counts = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            counts.extend_from_slice(&self.counts[i * PIXELS..(i + 1) * PIXELS]);
        }
        Digits {
            counts,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Shuffles with `seed` (Xoshiro256++) and splits into consecutive train/val/test parts;
    /// the test part takes whatever remains after `train + val`.
    ///
    /// # Panics
    /// If `train + val > len`.
    pub fn split(&self, train: usize, val: usize, seed: u64) -> DigitsSplits {
        assert!(
            train + val <= self.len(),
            "split: {train} + {val} > {} images",
            self.len()
        );
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        DigitsSplits {
            train: self.subset(&idx[..train]),
            val: self.subset(&idx[train..train + val]),
            test: self.subset(&idx[train + val..]),
        }
    }

    /// The competence-region split: 1000 train / 300 val / 497 test, seed 0.
    pub fn standard_split(&self) -> DigitsSplits {
        self.split(1000, 300, 0)
    }
}

/// Disjoint train/validation/test parts.
#[derive(Clone, Debug)]
pub struct DigitsSplits {
    /// Training images.
    pub train: Digits,
    /// Validation images.
    pub val: Digits,
    /// Test images.
    pub test: Digits,
}
