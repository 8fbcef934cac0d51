//! Small statistics helpers: quantiles, rank correlation, Student-t intervals over seeds.

/// The `q`-quantile with linear interpolation between order statistics (numpy's default):
/// position `q (n − 1)` in the sorted sample.
///
/// # Panics
/// If `values` is empty, holds a NaN, or `q ∉ [0, 1]` (callers validate external input).
pub fn quantile_linear(values: &[f64], q: f64) -> f64 {
    assert!(!values.is_empty(), "quantile_linear: empty input");
    assert!((0.0..=1.0).contains(&q), "quantile_linear: q = {q}");
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("quantile_linear: NaN"));
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n − 1); 0 for fewer than two values.
pub fn std_dev(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Average ranks (1-based; ties share the mean of their ranks).
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson correlation of average ranks); NaN when either side is
/// constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(
        x.len(),
        y.len(),
        "spearman: {} vs {} values",
        x.len(),
        y.len()
    );
    let (rx, ry) = (ranks(x), ranks(y));
    let (mx, my) = (mean(&rx), mean(&ry));
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// Two-sided Student-t `0.975` quantile for `df` degrees of freedom (table for small `df`,
/// 1.96 beyond 30): the half-width of a 95 % interval of a mean is `t · sd / √n`.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match df {
        0 => f64::INFINITY,
        1..=10 => T[df - 1],
        11..=20 => 2.086 + (20 - df) as f64 * (2.228 - 2.086) / 10.0,
        21..=30 => 2.042 + (30 - df) as f64 * (2.086 - 2.042) / 10.0,
        _ => 1.96,
    }
}

/// Mean and 95 % t-interval half-width of `v`.
pub fn mean_ci95(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    (
        mean(v),
        t975(n.saturating_sub(1)) * std_dev(v) / (n as f64).sqrt(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_ranks_and_intervals_match_hand_values() {
        assert_eq!(quantile_linear(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[9.0, 4.0, 1.0]) + 1.0).abs() < 1e-15);
        // [1, 2, 3]: mean 2, sd 1, half-width t(2) / √3 = 4.303 / 1.732.
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((h - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(t975(100), 1.96);
    }
}
