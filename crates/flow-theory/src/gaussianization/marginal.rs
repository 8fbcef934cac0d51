//! One-dimensional marginal Gaussianisation `z = Φ⁻¹(F(x))` with a piecewise-linear map
//! through empirical quantile knots (arXiv 2306.13520, Sec. 2; the official code uses RQ
//! splines or SINF 1-D transforms: here the map is linear between knots in the Gaussian
//! space, so the log-derivative is exact and the inverse is closed-form).

use crate::gaussianization::normal::normal_quantile;

/// A fitted monotone map `x ↦ z` through knots `(x_k, Φ⁻¹(p_k))`, linear in between and
/// linearly extrapolated with the outermost slopes.
#[derive(Clone, Debug, PartialEq)]
pub struct MarginalGaussianizer {
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl MarginalGaussianizer {
    /// Fits on `values` with `knots + 1` quantile levels `p_k = (k+1)/(knots+2)`; empirical
    /// quantiles by linear interpolation of the order statistics. Coinciding quantiles
    /// (ties in the data) are merged so the map stays strictly increasing.
    ///
    /// # Panics
    /// If fewer than two distinct values are given or `knots == 0`.
    pub fn fit(values: &[f64], knots: usize) -> MarginalGaussianizer {
        assert!(knots >= 1, "MarginalGaussianizer::fit: need ≥ 1 knot");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        assert!(
            n >= 2 && v[0] < v[n - 1],
            "MarginalGaussianizer::fit: need ≥ 2 distinct values"
        );
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for k in 0..=knots {
            let p = (k + 1) as f64 / (knots + 2) as f64;
            let pos = p * (n - 1) as f64;
            let i = (pos.floor() as usize).min(n - 2);
            let x = v[i] + (pos - i as f64) * (v[i + 1] - v[i]);
            let y = normal_quantile(p);
            let gap = 1e-9 * (1.0 + x.abs());
            match xs.last() {
                Some(&last) if x <= last + gap => {
                    // Merge with the previous knot: keep the larger y so the map keeps rising.
                    *ys.last_mut().expect("paired") = y;
                }
                _ => {
                    xs.push(x);
                    ys.push(y);
                }
            }
        }
        if xs.len() < 2 {
            xs = vec![v[0], v[n - 1]];
            ys = vec![-1.0, 1.0];
        }
        MarginalGaussianizer { xs, ys }
    }

    fn segment(&self, x: f64) -> usize {
        let m = self.xs.len();
        match self.xs.binary_search_by(|k| k.total_cmp(&x)) {
            Ok(i) => i.min(m - 2),
            Err(i) => i.saturating_sub(1).min(m - 2),
        }
    }

    fn slope(&self, i: usize) -> f64 {
        (self.ys[i + 1] - self.ys[i]) / (self.xs[i + 1] - self.xs[i])
    }

    /// `z` and `log dz/dx` at `x`.
    pub fn forward(&self, x: f64) -> (f64, f64) {
        let i = self.segment(x);
        let s = self.slope(i);
        (self.ys[i] + (x - self.xs[i]) * s, s.ln())
    }

    /// The inverse map `z ↦ x`.
    pub fn inverse(&self, z: f64) -> f64 {
        let m = self.ys.len();
        let i = match self.ys.binary_search_by(|k| k.total_cmp(&z)) {
            Ok(i) => i.min(m - 2),
            Err(i) => i.saturating_sub(1).min(m - 2),
        };
        self.xs[i] + (z - self.ys[i]) / self.slope(i)
    }
}
