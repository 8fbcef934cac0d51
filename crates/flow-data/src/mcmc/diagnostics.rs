//! Convergence diagnostics on scalar traces `[chains][draws]`.

/// Integrated autocorrelation time `τ = 1 + 2 Σ_{t=1}^{M} ρ(t)` of the chains pooled
/// (autocovariances averaged over chains around the grand mean), with Sokal's automatic
/// window: the smallest `M` with `M ≥ 5 τ(M)`. The effective sample size is `N_total / τ`.
/// Returns 1 for constant traces.
///
/// # Panics
/// If there are no chains or a chain has fewer than 2 draws or lengths differ.
///
/// ```
/// // An alternating sequence has ρ(1) = −1: τ is small.
/// let x: Vec<f64> = (0..1000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
/// assert!(flow_data::mcmc::integrated_autocorrelation_time(&[x]) < 1.0);
/// ```
pub fn integrated_autocorrelation_time(chains: &[Vec<f64>]) -> f64 {
    let n = check(chains);
    let total = (chains.len() * n) as f64;
    let mean = chains.iter().flatten().sum::<f64>() / total;
    let acov = |t: usize| -> f64 {
        chains
            .iter()
            .map(|c| {
                (0..n - t)
                    .map(|i| (c[i] - mean) * (c[i + t] - mean))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (chains.len() * n) as f64
    };
    let c0 = acov(0);
    if c0 <= 0.0 {
        return 1.0;
    }
    let mut tau = 1.0;
    for m in 1..n {
        tau += 2.0 * acov(m) / c0;
        if m as f64 >= 5.0 * tau {
            break;
        }
    }
    tau
}

/// Split-R̂ (Gelman et al., BDA3 §11.4): each chain is halved, then
/// `R̂ = sqrt(((n−1)/n · W + B/n) / W)` with W the mean within-half variance and B/n the
/// variance of the half means. ≈ 1 when converged; > 1.01 signals trouble.
///
/// # Panics
/// As [`integrated_autocorrelation_time`], and if a chain has fewer than 4 draws.
pub fn r_hat(chains: &[Vec<f64>]) -> f64 {
    let n = check(chains);
    assert!(n >= 4, "r_hat: need ≥ 4 draws per chain");
    let half = n / 2;
    let parts: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..half], &c[n - half..]])
        .collect();
    let m = parts.len() as f64;
    let nh = half as f64;
    let means: Vec<f64> = parts.iter().map(|p| p.iter().sum::<f64>() / nh).collect();
    let w = parts
        .iter()
        .zip(&means)
        .map(|(p, mu)| p.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (nh - 1.0))
        .sum::<f64>()
        / m;
    let grand = means.iter().sum::<f64>() / m;
    let b_over_n = means.iter().map(|mu| (mu - grand).powi(2)).sum::<f64>() / (m - 1.0);
    (((nh - 1.0) / nh * w + b_over_n) / w).sqrt()
}

fn check(chains: &[Vec<f64>]) -> usize {
    assert!(!chains.is_empty(), "diagnostics: no chains");
    let n = chains[0].len();
    assert!(
        n >= 2 && chains.iter().all(|c| c.len() == n),
        "diagnostics: chains need equal length ≥ 2"
    );
    n
}
