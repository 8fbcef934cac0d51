//! A path of pivots `θ_0 … θ_{n−1}` with fixed ends and target relative spacings, and its
//! arc-length re-spacing (`distribute_by_weights` of the official code: the
//! infinite-spring limit of NEB, arXiv 1803.00885 §3).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::objective::norm;

/// Pivots (each a flat parameter vector) and the target fraction of the total arc length
/// taken by each segment (`weights.len() == pivots.len() − 1`, summing to 1).
///
/// ```
/// use flow_landscape::Path;
/// let mut p = Path::linear(vec![0.0, 0.0], vec![4.0, 0.0]);
/// p.insert_equal(3);
/// assert_eq!(p.pivots.len(), 5);
/// assert!((p.pivots[1][0] - 1.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Path {
    /// The pivots; the first and last are fixed.
    pub pivots: Vec<Vec<f64>>,
    /// Target relative spacing per segment.
    pub weights: Vec<f64>,
}

impl Path {
    /// The two-pivot path between `a` and `b`.
    ///
    /// # Panics
    /// If the ends differ in length.
    pub fn linear(a: Vec<f64>, b: Vec<f64>) -> Path {
        assert_eq!(
            a.len(),
            b.len(),
            "Path::linear: ends {} vs {}",
            a.len(),
            b.len()
        );
        Path {
            pivots: vec![a, b],
            weights: vec![1.0],
        }
    }

    /// Number of pivots.
    pub fn len(&self) -> usize {
        self.pivots.len()
    }

    /// Whether the path has no pivot (never, for a constructed path).
    pub fn is_empty(&self) -> bool {
        self.pivots.is_empty()
    }

    /// Segment lengths `‖θ_{i+1} − θ_i‖`.
    pub fn segment_lengths(&self) -> Vec<f64> {
        self.pivots
            .windows(2)
            .map(|w| distance(&w[0], &w[1]))
            .collect()
    }

    /// Inserts `count` equally spaced pivots into every segment, splitting its weight equally.
    pub fn insert_equal(&mut self, count: usize) {
        let mut pivots = vec![self.pivots[0].clone()];
        let mut weights = Vec::new();
        for (j, w) in self.pivots.windows(2).enumerate() {
            for k in 1..=count {
                pivots.push(lerp(&w[0], &w[1], k as f64 / (count + 1) as f64));
            }
            pivots.push(w[1].clone());
            weights.extend(std::iter::repeat_n(
                self.weights[j] / (count + 1) as f64,
                count + 1,
            ));
        }
        self.pivots = pivots;
        self.weights = weights;
    }

    /// Inserts one pivot at fraction `alpha ∈ (0, 1)` of segment `j`, splitting its weight in
    /// the ratio `alpha : 1 − alpha`.
    ///
    /// # Panics
    /// If `j` is not a segment or `alpha` is outside `(0, 1)`.
    pub fn insert_at(&mut self, j: usize, alpha: f64) {
        assert!(j + 1 < self.pivots.len(), "insert_at: no segment {j}");
        assert!(
            alpha > 0.0 && alpha < 1.0,
            "insert_at: alpha {alpha} not in (0, 1)"
        );
        let p = lerp(&self.pivots[j], &self.pivots[j + 1], alpha);
        self.pivots.insert(j + 1, p);
        let w = self.weights[j];
        self.weights[j] = alpha * w;
        self.weights.insert(j + 1, (1.0 - alpha) * w);
    }

    /// Adds `N(0, σ²)` noise to every interior pivot (breaks symmetric traps such as the
    /// Eggcarton diagonal).
    pub fn perturb_interior<R: Rng + ?Sized>(&mut self, sigma: f64, rng: &mut R) {
        let n = self.pivots.len();
        for p in &mut self.pivots[1..n.saturating_sub(1)] {
            for x in p.iter_mut() {
                let z: f64 = StandardNormal.sample(rng);
                *x += sigma * z;
            }
        }
    }

    /// Moves the interior pivots along the current polyline so that segment `j` has arc
    /// length `weights[j] · total` (piecewise-linear arc-length interpolation). The ends stay
    /// put and every new pivot lies on the old polyline.
    pub fn redistribute(&mut self) {
        let lengths = self.segment_lengths();
        let total: f64 = lengths.iter().sum();
        if total == 0.0 || self.pivots.len() < 3 {
            return;
        }
        let mut cum = vec![0.0];
        for l in &lengths {
            cum.push(cum.last().expect("non-empty") + l);
        }
        let wsum: f64 = self.weights.iter().sum();
        let mut target = 0.0;
        let mut new = Vec::with_capacity(self.pivots.len());
        new.push(self.pivots[0].clone());
        let mut seg = 0;
        for w in &self.weights[..self.weights.len() - 1] {
            target += w / wsum * total;
            while seg + 1 < lengths.len() && cum[seg + 1] < target {
                seg += 1;
            }
            let alpha = if lengths[seg] > 0.0 {
                ((target - cum[seg]) / lengths[seg]).clamp(0.0, 1.0)
            } else {
                0.0
            };
            new.push(lerp(&self.pivots[seg], &self.pivots[seg + 1], alpha));
        }
        new.push(self.pivots.last().expect("non-empty").clone());
        self.pivots = new;
    }
}

/// `a + t (b − a)`.
pub fn lerp(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect()
}

/// `‖a − b‖`.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm(&d)
}
