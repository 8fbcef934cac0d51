//! The rotated-digits benchmark (`competence-regions.md` §4, the local analogue of the
//! paper's DomainBed leave-one-domain-out protocol): UCI 8×8 digits scaled to `[0, 1]`, split
//! by seed into train/val/test; source domains are the train (and val) images rotated by each
//! source angle, the in-distribution test set is the test images under the source angles, and
//! each target domain is the test images rotated by one target angle (bilinear, zero fill:
//! [`flow_data::digits::rotate_images`]). Deterministic per seed.
//!
//! Open world: with `known_classes = Some(k)` only digits `0..k` are used for training,
//! validation and the known part of each target; the test images of digits `k..10` under the
//! target angle form that target's unknown pool (for [`crate::metrics::mix_open`]).

use flow_core::{DType, Tensor};
use flow_data::digits::{Digits, rotate_images};
use serde::{Deserialize, Serialize};

/// Images and labels of one set.
#[derive(Clone, Debug)]
pub struct LabeledSet {
    /// `[n, 64]` images in `[0, 1]`, f32.
    pub images: Tensor,
    /// Labels.
    pub labels: Vec<usize>,
}

impl LabeledSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Concatenation of sets.
    ///
    /// # Panics
    /// If `sets` is empty.
    pub fn concat(sets: &[LabeledSet]) -> LabeledSet {
        let refs: Vec<&Tensor> = sets.iter().map(|s| &s.images).collect();
        LabeledSet {
            images: Tensor::concat(&refs, 0),
            labels: sets.iter().flat_map(|s| s.labels.iter().copied()).collect(),
        }
    }
}

/// Settings of the benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RotatedDigitsConfig {
    /// Training images before rotation (1000).
    pub train: usize,
    /// Validation images before rotation (300); the test part is the rest (497).
    pub val: usize,
    /// Source angles in degrees (−15, 0, 15).
    pub sources: Vec<f64>,
    /// Target angles in degrees (30, 45, 60, 90).
    pub targets: Vec<f64>,
    /// Open world: only digits `0..k` are known.
    pub known_classes: Option<usize>,
}

impl RotatedDigitsConfig {
    /// The setting of `competence-regions.md` §4 (closed world).
    pub fn standard() -> RotatedDigitsConfig {
        RotatedDigitsConfig {
            train: 1000,
            val: 300,
            sources: vec![-15.0, 0.0, 15.0],
            targets: vec![30.0, 45.0, 60.0, 90.0],
            known_classes: None,
        }
    }

    /// Number of classes the classifier predicts.
    pub fn classes(&self) -> usize {
        self.known_classes.unwrap_or(10)
    }
}

/// One target domain.
#[derive(Clone, Debug)]
pub struct TargetDomain {
    /// Rotation in degrees.
    pub degrees: f64,
    /// Known-class test images under this rotation.
    pub known: LabeledSet,
    /// Unknown-class test images under this rotation (empty in the closed world).
    pub unknown: LabeledSet,
}

/// The built benchmark.
#[derive(Clone, Debug)]
pub struct RotatedDigits {
    /// Training set of each source domain (same images, different angles).
    pub sources: Vec<LabeledSet>,
    /// Validation images under every source angle (thresholds are set here).
    pub val: LabeledSet,
    /// Test images under every source angle.
    pub id_test: LabeledSet,
    /// Target domains by increasing angle, as configured.
    pub targets: Vec<TargetDomain>,
}

/// Images and labels of `d` restricted to labels in `keep`, rotated by `degrees`.
fn rotated(d: &Digits, degrees: f64, keep: impl Fn(usize) -> bool) -> LabeledSet {
    let idx: Vec<usize> = (0..d.len())
        .filter(|&i| keep(d.labels[i] as usize))
        .collect();
    let sub = d.subset(&idx);
    LabeledSet {
        images: rotate_images(&sub.images(), degrees).to_dtype(DType::F32),
        labels: sub.labels.iter().map(|&l| l as usize).collect(),
    }
}

impl RotatedDigits {
    /// Builds the benchmark from the vendored digits with the split drawn by `seed`.
    ///
    /// # Panics
    /// If `train + val` exceeds the 1797 images or `known_classes` is not in `2..=10`.
    ///
    /// ```
    /// use flow_reject::bench::{RotatedDigits, RotatedDigitsConfig};
    /// let b = RotatedDigits::build(&RotatedDigitsConfig::standard(), 0);
    /// assert_eq!(b.sources.len(), 3);
    /// assert_eq!(b.val.len(), 900);
    /// assert_eq!(b.targets[0].known.len(), 497);
    /// ```
    pub fn build(config: &RotatedDigitsConfig, seed: u64) -> RotatedDigits {
        let k = config.classes();
        assert!((2..=10).contains(&k), "known_classes {k} not in 2..=10");
        let splits = Digits::vendored().split(config.train, config.val, seed);
        let known = |l: usize| l < k;
        let per_source = |d: &Digits| -> Vec<LabeledSet> {
            config
                .sources
                .iter()
                .map(|&a| rotated(d, a, known))
                .collect()
        };
        RotatedDigits {
            sources: per_source(&splits.train),
            val: LabeledSet::concat(&per_source(&splits.val)),
            id_test: LabeledSet::concat(&per_source(&splits.test)),
            targets: config
                .targets
                .iter()
                .map(|&a| TargetDomain {
                    degrees: a,
                    known: rotated(&splits.test, a, known),
                    unknown: rotated(&splits.test, a, |l| l >= k),
                })
                .collect(),
        }
    }

    /// All source training images in one set.
    pub fn pooled_train(&self) -> LabeledSet {
        LabeledSet::concat(&self.sources)
    }
}
