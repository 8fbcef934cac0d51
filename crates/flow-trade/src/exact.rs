//! Exact samplers and quadrature references that flow-data does not provide for the TRADE
//! targets (candidates to move there).

use flow_core::{DType, Tensor};
use flow_data::energy::DoubleWell2d;
use flow_data::energy::quadrature::{GridSampler1d, expectation};
use rand::Rng;

/// `n` exact samples of the 2-D double well at temperature `t`: `x₁` by inverse CDF of
/// `exp(−q(x₁)/T)` on a fine grid (flow-data's [`GridSampler1d`]), `x₂ ~ N(0, T)`.
pub fn double_well_samples<R: Rng + ?Sized>(
    dw: &DoubleWell2d,
    n: usize,
    t: f64,
    rng: &mut R,
) -> Tensor {
    let (a, b, c) = (dw.a, dw.b, dw.c);
    let s = GridSampler1d::new(
        |x| -(a * x + b * x * x + c * x.powi(4)) / t,
        -8.0,
        8.0,
        16_000,
    );
    let x2 = Tensor::randn(&[n], DType::F64, rng)
        .mul_scalar(t.sqrt())
        .to_vec_f64();
    let v: Vec<f64> = x2.iter().flat_map(|&y| [s.sample(rng), y]).collect();
    Tensor::from_vec(v, &[n, 2])
}

/// `E_T[A]` of the tempered 2-D double well (`A = −u/T²`) by 1-D quadrature, using
/// `E_T[½x₂²] = T/2` exactly.
pub fn double_well_ex_a(dw: &DoubleWell2d, t: f64) -> f64 {
    let q = |x: f64| dw.a * x + dw.b * x * x + dw.c * x.powi(4);
    -(expectation(|y| -q(y) / t, q, -8.0, 8.0, 4000) + 0.5 * t) / (t * t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Sample moments match quadrature: E[x₁²] at T = 0.5 and Var x₂ = T, within 5 standard
    /// errors of 20k samples.
    #[test]
    fn exact_samples_match_quadrature_moments() {
        let dw = DoubleWell2d::bgflow();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let t = 0.5;
        let n = 20_000;
        let x = double_well_samples(&dw, n, t, &mut rng).to_vec_f64();
        let m1: f64 = x.iter().step_by(2).map(|v| v * v).sum::<f64>() / n as f64;
        let m2: f64 = x.iter().skip(1).step_by(2).map(|v| v * v).sum::<f64>() / n as f64;
        let q = |y: f64| -4.0 * y * y + y.powi(4);
        let e1 = expectation(|y| -q(y) / t, |y| y * y, -8.0, 8.0, 4000);
        let e1sq = expectation(|y| -q(y) / t, |y| y.powi(4), -8.0, 8.0, 4000);
        let se1 = ((e1sq - e1 * e1) / n as f64).sqrt();
        assert!((m1 - e1).abs() < 5.0 * se1, "E[x1²] {m1} vs {e1}");
        let se2 = (2.0 * t * t / n as f64).sqrt();
        assert!((m2 - t).abs() < 5.0 * se2, "E[x2²] {m2} vs {t}");
    }
}
