//! Fixed-range histograms and the histogram KL used for energy, distance and Ramachandran
//! comparisons (`boltzmann-targets.md` §5.4).

/// A normalised histogram over `[lo, hi)` with equal-width bins; values outside are counted
/// in `outside` and excluded from the probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Bin probabilities (sum to 1 unless every value fell outside).
    pub probs: Vec<f64>,
    /// Number of values outside `[lo, hi)` (or non-finite).
    pub outside: usize,
}

impl Histogram {
    /// Bins `values` into `bins` equal bins on `[lo, hi)`.
    ///
    /// # Panics
    /// If `bins == 0` or `lo ≥ hi`.
    pub fn new(values: &[f64], bins: usize, lo: f64, hi: f64) -> Self {
        assert!(bins > 0 && lo < hi, "Histogram: need bins > 0 and lo < hi");
        let mut counts = vec![0usize; bins];
        let mut outside = 0;
        for &v in values {
            if v.is_finite() && v >= lo && v < hi {
                counts[(((v - lo) / (hi - lo)) * bins as f64).min(bins as f64 - 1.0) as usize] += 1;
            } else {
                outside += 1;
            }
        }
        let inside = (values.len() - outside).max(1) as f64;
        Self {
            lo,
            hi,
            probs: counts.iter().map(|&c| c as f64 / inside).collect(),
            outside,
        }
    }
}

/// `Σ_b P_b log(P_b / Q_b)` over bins where both are nonzero (TRADE's Ramachandran KL
/// convention).
///
/// # Panics
/// If the bin counts differ.
pub fn histogram_kl(p: &[f64], q: &[f64]) -> f64 {
    assert_eq!(p.len(), q.len(), "histogram_kl: bin counts differ");
    p.iter()
        .zip(q)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0)
        .map(|(a, b)| a * (a / b).ln())
        .sum()
}
