//! Competence regions and learning to reject under domain shift: "Finding Competence Regions
//! in Domain Generalization" (Müller, Radev, Schmier, Draxler, Rother, Köthe; TMLR 2023,
//! arXiv 2303.09989).
//!
//! A classifier trained on source domains is applied to a shifted target domain. Instead of
//! rejecting all out-of-distribution data, accept a target sample when its *incompetence
//! score* lies below a threshold set on in-distribution validation scores: the sample is in
//! the classifier's competence region.
//!
//! - [`scores`]: ten incompetence scores behind one trait, [`IncompetenceScore`];
//! - [`metrics`]: thresholds, accuracy–coverage curves, AURC/AUSC with random and oracle
//!   references, quintile accuracies, the open-world mix;
//! - [`bench`]: the rotated-digits benchmark, the MLP classifier with penultimate features,
//!   ERM and domain-generalisation objectives.
//!
//! ```
//! use flow_reject::{IncompetenceScore, scores::Softmax, metrics::Threshold, Observed};
//! use nalgebra::DMatrix;
//! let val = Observed::new(DMatrix::zeros(4, 1), DMatrix::from_row_slice(4, 2, &[3.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 0.0]));
//! let s = Softmax.score(&val).unwrap();
//! let t = Threshold::at_quantile(&s, 0.5).unwrap();
//! assert!(t.accepts(s[0]) && !t.accepts(s[3]));
//! ```

pub mod bench;
pub mod error;
pub mod input;
pub mod linalg;
pub mod metrics;
pub mod scores;
pub mod stats;

pub use error::RejectError;
pub use input::{FitData, Head, Observed};
pub use scores::{IncompetenceScore, ScoreKind};
