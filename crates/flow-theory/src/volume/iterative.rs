//! The iterative coupling construction of the universality proof on 2-D samples
//! (arXiv 2402.06578, Sec. 5, Fig. 1: "first rotates p_{n−1}(z), then applies an affine
//! coupling layer that transforms the active dimensions to zero mean and unit variance for
//! each passive coordinate b"; code `iterative_coupling.py::layer_from_data`).
//!
//! Differences from the code, all simplifications: conditional moments in equal-count bins of
//! the passive coordinate, interpolated *linearly* between bin centres (the code: cubic) with
//! constant extrapolation; the rotation angle is the best of `tries` uniform draws by the
//! binned predicted gain.

use rand::{Rng, RngExt};

use crate::volume::conditional::block_gain;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// One fitted block: rotate by `angle`, then `a ← s(b) a + t(b)`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinnedCouplingBlock {
    /// Rotation angle (radians).
    pub angle: f64,
    centers: Vec<f64>,
    s: Vec<f64>,
    t: Vec<f64>,
    /// The binned full-step gain `½ mean_bins(μ² + v − 1 − log v)` on the fitting data.
    pub predicted_gain: f64,
}

fn rotate(x: &[f64; 2], angle: f64) -> [f64; 2] {
    let (s, c) = angle.sin_cos();
    [c * x[0] + s * x[1], -s * x[0] + c * x[1]]
}

impl BinnedCouplingBlock {
    /// Fits the block on `data` after rotating by `angle`: `bins` equal-count bins of the
    /// passive coordinate, `s = v^{−1/2}`, `t = −μ s` per bin, damped by `step`:
    /// `s ← 1 + step (s − 1)`, `t ← step · t` (the code's step size 0.5).
    ///
    /// # Panics
    /// If there are fewer than two samples per bin.
    pub fn fit(data: &[[f64; 2]], angle: f64, bins: usize, step: f64) -> BinnedCouplingBlock {
        assert!(
            bins >= 1 && data.len() >= 2 * bins,
            "BinnedCouplingBlock::fit: need ≥ 2 samples per bin"
        );
        let mut rot: Vec<[f64; 2]> = data.iter().map(|x| rotate(x, angle)).collect();
        rot.sort_by(|p, q| p[0].total_cmp(&q[0]));
        let n = rot.len();
        let (mut centers, mut s, mut t) = (Vec::new(), Vec::new(), Vec::new());
        let mut gain = 0.0;
        for k in 0..bins {
            let chunk = &rot[k * n / bins..(k + 1) * n / bins];
            let m = chunk.len() as f64;
            let center = chunk.iter().map(|p| p[0]).sum::<f64>() / m;
            let mu = chunk.iter().map(|p| p[1]).sum::<f64>() / m;
            let v = (chunk.iter().map(|p| (p[1] - mu).powi(2)).sum::<f64>() / m).max(1e-12);
            gain += block_gain(mu, v) * m / n as f64;
            let full_s = v.powf(-0.5);
            centers.push(center);
            s.push(1.0 + step * (full_s - 1.0));
            t.push(-step * mu * full_s);
        }
        BinnedCouplingBlock {
            angle,
            centers,
            s,
            t,
            predicted_gain: gain,
        }
    }

    fn coefficients(&self, b: f64) -> (f64, f64) {
        let c = &self.centers;
        let n = c.len();
        if n == 1 || b <= c[0] {
            return (self.s[0], self.t[0]);
        }
        if b >= c[n - 1] {
            return (self.s[n - 1], self.t[n - 1]);
        }
        let i = c.partition_point(|v| *v <= b) - 1;
        let w = if c[i + 1] > c[i] {
            (b - c[i]) / (c[i + 1] - c[i])
        } else {
            0.0
        };
        (
            self.s[i] * (1.0 - w) + self.s[i + 1] * w,
            self.t[i] * (1.0 - w) + self.t[i + 1] * w,
        )
    }

    /// Applies the block; returns the outputs and `log |det|` per sample (`log s(b)`).
    pub fn apply(&self, data: &[[f64; 2]]) -> (Vec<[f64; 2]>, Vec<f64>) {
        data.iter()
            .map(|x| {
                let [b, a] = rotate(x, self.angle);
                let (s, t) = self.coefficients(b);
                ([b, s * a + t], s.ln())
            })
            .unzip()
    }
}

/// A stack of [`BinnedCouplingBlock`]s fitted one at a time.
#[derive(Clone, Debug, Default)]
pub struct IterativeCoupling {
    /// The blocks, in order.
    pub blocks: Vec<BinnedCouplingBlock>,
}

/// Mean `−log N(z) − log|det|` per sample (nats).
pub fn nll_2d(z: &[[f64; 2]], log_det: &[f64]) -> f64 {
    z.iter()
        .zip(log_det)
        .map(|(p, l)| 0.5 * (p[0] * p[0] + p[1] * p[1]) + LN_2PI - l)
        .sum::<f64>()
        / z.len() as f64
}

impl IterativeCoupling {
    /// Fits `blocks` blocks on `train`, each with the best of `tries` random angles.
    /// Returns the model and the training NLL after `0..=blocks` blocks.
    pub fn fit<R: Rng + ?Sized>(
        train: &[[f64; 2]],
        blocks: usize,
        bins: usize,
        step: f64,
        tries: usize,
        rng: &mut R,
    ) -> (IterativeCoupling, Vec<f64>) {
        let mut z = train.to_vec();
        let mut log_det = vec![0.0; z.len()];
        let mut nll = vec![nll_2d(&z, &log_det)];
        let mut model = IterativeCoupling::default();
        for _ in 0..blocks {
            let block = (0..tries.max(1))
                .map(|_| {
                    BinnedCouplingBlock::fit(
                        &z,
                        std::f64::consts::PI * rng.random::<f64>(),
                        bins,
                        step,
                    )
                })
                .max_by(|a, b| a.predicted_gain.total_cmp(&b.predicted_gain))
                .expect("at least one try");
            let (nz, ld) = block.apply(&z);
            z = nz;
            for (acc, l) in log_det.iter_mut().zip(ld) {
                *acc += l;
            }
            nll.push(nll_2d(&z, &log_det));
            model.blocks.push(block);
        }
        (model, nll)
    }

    /// NLL of `data` after `0..=len` blocks.
    pub fn nll_per_block(&self, data: &[[f64; 2]]) -> Vec<f64> {
        self.sample_nll_per_block(data)
            .iter()
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            .collect()
    }

    /// Per-sample `−log N(z) − log|det|` of `data` after `0..=len` blocks (`[block][sample]`),
    /// for Monte-Carlo errors of per-block differences.
    pub fn sample_nll_per_block(&self, data: &[[f64; 2]]) -> Vec<Vec<f64>> {
        let per_sample = |z: &[[f64; 2]], ld: &[f64]| -> Vec<f64> {
            z.iter()
                .zip(ld)
                .map(|(p, l)| 0.5 * (p[0] * p[0] + p[1] * p[1]) + LN_2PI - l)
                .collect()
        };
        let mut z = data.to_vec();
        let mut log_det = vec![0.0; z.len()];
        let mut out = vec![per_sample(&z, &log_det)];
        for b in &self.blocks {
            let (nz, ld) = b.apply(&z);
            z = nz;
            for (acc, l) in log_det.iter_mut().zip(ld) {
                *acc += l;
            }
            out.push(per_sample(&z, &log_det));
        }
        out
    }
}
