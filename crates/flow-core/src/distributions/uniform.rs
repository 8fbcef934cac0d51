//! The uniform distribution on an axis-aligned box.

use rand::Rng;

use super::{Density, check_rows};
use crate::dtype::DType;
use crate::nn::{Module, Param};
use crate::tensor::Tensor;

/// `U([low₁, high₁] × ⋯ × [low_D, high_D])`: `log p = −Σ ln(high − low)` inside the box and
/// `−∞` outside. The bounds are fixed (a box has no useful gradient in its bounds).
///
/// ```
/// use flow_core::{Tensor, DType, distributions::{Density, UniformBox}};
/// let u = UniformBox::new(&[0.0, -1.0], &[2.0, 1.0], DType::F64);
/// let lp = u.log_prob(&Tensor::from_slice(&[1.0f64, 0.0, 3.0, 0.0], &[2, 2]), None).to_vec_f64();
/// assert!((lp[0] + 4f64.ln()).abs() < 1e-12 && lp[1] == f64::NEG_INFINITY);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct UniformBox {
    low: Vec<f64>,
    high: Vec<f64>,
    dtype: DType,
}

impl UniformBox {
    /// The box `[low, high]` per coordinate.
    ///
    /// # Panics
    /// If the bounds differ in length, are empty, or some `low ≥ high` (a programmer error:
    /// bounds from outside go through [`super::BaseConfig::validate`]).
    pub fn new(low: &[f64], high: &[f64], dtype: DType) -> UniformBox {
        assert!(
            !low.is_empty()
                && low.len() == high.len()
                && low
                    .iter()
                    .zip(high)
                    .all(|(l, h)| l < h && (h - l).is_finite()),
            "UniformBox: need finite low < high of equal non-zero length, got {low:?}, {high:?}"
        );
        UniformBox {
            low: low.to_vec(),
            high: high.to_vec(),
            dtype,
        }
    }

    fn log_volume(&self) -> f64 {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(l, h)| (h - l).ln())
            .sum()
    }
}

impl Module for UniformBox {
    fn parameters(&self) -> Vec<Param> {
        Vec::new()
    }
}

impl Density for UniformBox {
    fn event_dim(&self) -> usize {
        self.low.len()
    }

    fn log_prob(&self, x: &Tensor, _condition: Option<&Tensor>) -> Tensor {
        check_rows("UniformBox", self.event_dim(), x);
        let d = self.event_dim();
        let inside: Vec<f64> = x
            .to_vec_f64()
            .chunks(d)
            .map(|row| {
                let ok = row
                    .iter()
                    .zip(self.low.iter().zip(&self.high))
                    .all(|(v, (l, h))| v >= l && v <= h);
                if ok {
                    -self.log_volume()
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let n = inside.len();
        Tensor::from_vec(inside, &[n]).to_dtype(x.dtype())
    }

    fn rsample(&self, n: usize, _condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        let d = self.event_dim();
        let u = Tensor::rand_uniform(&[n, d], 0.0, 1.0, self.dtype, rng);
        let width: Vec<f64> = self
            .low
            .iter()
            .zip(&self.high)
            .map(|(l, h)| h - l)
            .collect();
        let width = Tensor::from_vec(width, &[1, d]).to_dtype(self.dtype);
        let low = Tensor::from_vec(self.low.clone(), &[1, d]).to_dtype(self.dtype);
        u.mul(&width).add(&low)
    }
}
