//! Dense evaluation of a path (pivots plus sub-points on every segment), the saddle and the
//! barrier, and the `highest` insertion rule (`fill.py::highest` of the official code).

use serde::{Deserialize, Serialize};

use super::path::{Path, lerp};

/// A function sampled along a path: `sub` interior points per segment plus the pivots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseProfile {
    /// Sub-points between consecutive pivots.
    pub sub: usize,
    /// Position along the path in `[0, 1]` by arc length, one per sample.
    pub position: Vec<f64>,
    /// The sampled values; index `j·(sub+1) + k` is fraction `k/(sub+1)` of segment `j`.
    pub values: Vec<f64>,
}

impl DenseProfile {
    /// Evaluates `f` at every pivot and at `sub` equally spaced points inside every segment.
    ///
    /// ```
    /// use flow_landscape::{DenseProfile, Path};
    /// let p = Path::linear(vec![0.0], vec![1.0]);
    /// let d = DenseProfile::evaluate(&p, 3, |t| t[0] * (1.0 - t[0]));
    /// assert_eq!(d.values.len(), 5);
    /// assert!((d.saddle() - 0.25).abs() < 1e-12);
    /// ```
    pub fn evaluate(path: &Path, sub: usize, mut f: impl FnMut(&[f64]) -> f64) -> DenseProfile {
        let lengths = path.segment_lengths();
        let total: f64 = lengths.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let mut position = Vec::new();
        let mut values = Vec::new();
        let mut start = 0.0;
        for (j, w) in path.pivots.windows(2).enumerate() {
            for k in 0..=sub {
                let a = k as f64 / (sub + 1) as f64;
                values.push(f(&lerp(&w[0], &w[1], a)));
                position.push((start + a * lengths[j]) / total);
            }
            start += lengths[j];
        }
        values.push(f(path.pivots.last().expect("non-empty path")));
        position.push(1.0);
        DenseProfile {
            sub,
            position,
            values,
        }
    }

    /// The values at the pivots.
    pub fn pivot_values(&self) -> Vec<f64> {
        self.values.iter().step_by(self.sub + 1).copied().collect()
    }

    /// The maximum along the path (the saddle estimate; `saddle_<key>` in the official code).
    /// NaN if any value is NaN.
    pub fn saddle(&self) -> f64 {
        if self.values.iter().any(|v| v.is_nan()) {
            return f64::NAN;
        }
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// The barrier `B = saddle − max(L(θ_0), L(θ_{n−1}))`; `≥ 0` because the ends are samples.
    pub fn barrier(&self) -> f64 {
        let ends = self.values[0].max(*self.values.last().expect("non-empty"));
        self.saddle() - ends
    }

    /// Index of the sample at the maximum.
    pub fn argmax(&self) -> usize {
        let mut best = 0;
        for (i, v) in self.values.iter().enumerate() {
            if *v > self.values[best] {
                best = i;
            }
        }
        best
    }

    /// Per segment: the largest normalised deviation of the dense values above the linear
    /// interpolation of the two pivot values, and the fraction `α` where it occurs:
    /// `max_k (L(α_k) − [(1−α_k)L_j + α_k L_{j+1}]) / (max_i L_i − min_i L_i)` over interior
    /// sub-points (normaliser 1 when the pivot losses are all equal).
    pub fn deviations(&self) -> Vec<(f64, f64)> {
        let piv = self.pivot_values();
        let hi = piv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lo = piv.iter().copied().fold(f64::INFINITY, f64::min);
        let scale = if hi > lo { hi - lo } else { 1.0 };
        (0..piv.len() - 1)
            .map(|j| {
                let mut best = (f64::NEG_INFINITY, 0.5);
                for k in 1..=self.sub {
                    let a = k as f64 / (self.sub + 1) as f64;
                    let lin = (1.0 - a) * piv[j] + a * piv[j + 1];
                    let s = (self.values[j * (self.sub + 1) + k] - lin) / scale;
                    if s > best.0 {
                        best = (s, a);
                    }
                }
                best
            })
            .collect()
    }
}

/// The `highest` rule: in the (at most) `count` segments with the largest
/// [`DenseProfile::deviations`] score above `threshold`, insert one pivot at the maximising
/// `α` (splitting the segment's weight in the ratio `α`). Returns the segments that got one.
///
/// # Panics
/// If `profile` was not evaluated on `path` (sample count differs).
pub fn insert_highest(
    path: &mut Path,
    profile: &DenseProfile,
    count: usize,
    threshold: f64,
) -> Vec<usize> {
    assert_eq!(
        profile.values.len(),
        (path.len() - 1) * (profile.sub + 1) + 1,
        "insert_highest: profile does not match the path"
    );
    let dev = profile.deviations();
    let mut order: Vec<usize> = (0..dev.len()).filter(|&j| dev[j].0 > threshold).collect();
    order.sort_by(|&a, &b| dev[b].0.total_cmp(&dev[a].0));
    order.truncate(count);
    let mut chosen = order.clone();
    chosen.sort_unstable_by(|a, b| b.cmp(a));
    for &j in &chosen {
        path.insert_at(j, dev[j].1);
    }
    order
}
