//! Eigenvalue families of the multi-block experiment (arXiv 2210.14032, notebook A.4; code
//! `data.py::build_dataset(D, n, 1e-3, 1e3, degenerate=False, centered=True)`).

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// A family of test spectra; [`SpectrumFamily::spectrum`] draws member `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpectrumFamily {
    /// One eigenvalue geometrically in (1, max], the others ≈ 1.
    SingleAbove,
    /// One eigenvalue geometrically in [min, 1), the others ≈ 1.
    SingleBelow,
    /// All but one eigenvalue equal and > 1.
    AllButOneAbove,
    /// All but one eigenvalue equal and < 1.
    AllButOneBelow,
    /// Uniform on [0, 5].
    Uniform5,
    /// Uniform on [0, 2].
    Uniform2,
    /// Log-uniform on [min, max].
    LogUniform,
    /// Half the eigenvalues big, half small.
    HalfBigHalfSmall,
}

impl SpectrumFamily {
    /// Every family, in the notebook's order.
    pub const ALL: [SpectrumFamily; 8] = [
        SpectrumFamily::SingleAbove,
        SpectrumFamily::SingleBelow,
        SpectrumFamily::AllButOneAbove,
        SpectrumFamily::AllButOneBelow,
        SpectrumFamily::Uniform5,
        SpectrumFamily::Uniform2,
        SpectrumFamily::LogUniform,
        SpectrumFamily::HalfBigHalfSmall,
    ];

    /// Short label for plots.
    pub fn label(self) -> &'static str {
        match self {
            SpectrumFamily::SingleAbove => "single > 1",
            SpectrumFamily::SingleBelow => "single < 1",
            SpectrumFamily::AllButOneAbove => "all but one > 1",
            SpectrumFamily::AllButOneBelow => "all but one < 1",
            SpectrumFamily::Uniform5 => "uniform [0,5]",
            SpectrumFamily::Uniform2 => "uniform [0,2]",
            SpectrumFamily::LogUniform => "log-uniform",
            SpectrumFamily::HalfBigHalfSmall => "half big, half small",
        }
    }

    /// Member `index` of `count` in dimension `d`, eigenvalues in `[min_ev, max_ev]`
    /// (notebook: 1e-3, 1e3), rescaled to mean 1. The "≈ 1" entries are spread over
    /// `1 ± 1e-5` (the notebook's non-degenerate ones).
    ///
    /// # Panics
    /// If `d < 2`, `index ≥ count`, or the bounds are not `0 < min_ev < 1 < max_ev`.
    pub fn spectrum<R: Rng + ?Sized>(
        self,
        d: usize,
        index: usize,
        count: usize,
        min_ev: f64,
        max_ev: f64,
        rng: &mut R,
    ) -> Vec<f64> {
        assert!(
            d >= 2 && index < count && 0.0 < min_ev && min_ev < 1.0 && max_ev > 1.0,
            "SpectrumFamily::spectrum: bad arguments"
        );
        let t = (index + 1) as f64 / count as f64;
        let big = max_ev.powf(t);
        let small = min_ev.powf(1.0 - (index as f64) / count as f64);
        let ones = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| 1.0 - 1e-5 + 2e-5 * i as f64 / (n.max(2) - 1) as f64)
                .collect()
        };
        let mut ev = match self {
            SpectrumFamily::SingleAbove => [vec![big], ones(d - 1)].concat(),
            SpectrumFamily::SingleBelow => [vec![small], ones(d - 1)].concat(),
            SpectrumFamily::AllButOneAbove => {
                [ones(d - 1).iter().map(|v| v * big).collect(), vec![1.0]].concat()
            }
            SpectrumFamily::AllButOneBelow => {
                [ones(d - 1).iter().map(|v| v * small).collect(), vec![1.0]].concat()
            }
            SpectrumFamily::Uniform5 => (0..d).map(|_| 5.0 * rng.random::<f64>()).collect(),
            SpectrumFamily::Uniform2 => (0..d).map(|_| 2.0 * rng.random::<f64>()).collect(),
            SpectrumFamily::LogUniform => {
                let (a, b) = (min_ev.ln(), max_ev.ln());
                (0..d)
                    .map(|_| (a + (b - a) * rng.random::<f64>()).exp())
                    .collect()
            }
            SpectrumFamily::HalfBigHalfSmall => {
                let h = d / 2;
                [
                    ones(h).iter().map(|v| v * big).collect::<Vec<_>>(),
                    ones(d - h).iter().map(|v| v * small).collect(),
                ]
                .concat()
            }
        };
        for v in &mut ev {
            *v = v.max(1e-300);
        }
        let mean = ev.iter().sum::<f64>() / d as f64;
        ev.iter().map(|v| v / mean).collect()
    }
}
