//! The DW4 / LJ13 reference sets, validated the way the papers validate them (energy and
//! pair-distance histograms), against oracles that do not share the generator's code path:
//! an independent HMC run, and the exact equilibrium identity `⟨x · ∇U⟩ = kT · D` (integrate
//! `∇ · (x e^{−U})` over the mean-free subspace of dimension `D = (n − 1)d`; the boundary
//! term vanishes because both energies grow at infinity).

mod common;

use std::path::PathBuf;

use common::rng;
use flow_core::{DType, Tensor};
use flow_data::DataError;
use flow_data::energy::{
    Energy, LennardJones, MultiDoubleWell, Tempered, energy_and_grad, pair_distances, param,
};
use flow_data::mcmc::*;
use flow_data::metrics::{Histogram, histogram_kl};

/// The generator's row order is `t · chains + c`: regroup a per-row statistic into chains.
fn traces(values: &[f64], chains: usize) -> Vec<Vec<f64>> {
    (0..chains)
        .map(|c| values.iter().skip(c).step_by(chains).copied().collect())
        .collect()
}

/// Effective sample size `N / τ` of a per-row statistic (τ floored at 1).
fn ess(values: &[f64], chains: usize) -> f64 {
    let tau = integrated_autocorrelation_time(&traces(values, chains)).max(1.0);
    values.len() as f64 / tau
}

fn mean_and_se(values: &[f64], chains: usize) -> (f64, f64) {
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / ess(values, chains)).sqrt())
}

/// Per-sample energies `U(x)` and virials `x · ∇U(x)` at τ = 1.
fn energies_and_virials(e: &dyn Energy, x: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let (u, g) = energy_and_grad(e, x, &param(1.0, x));
    let vir = x.mul(&g).sum_axis(1, false).to_vec_f64();
    (u.to_vec_f64(), vir)
}

/// Largest absolute centre-of-mass coordinate over all samples.
fn max_centre_of_mass(x: &Tensor, n: usize, d: usize) -> f64 {
    x.to_vec_f64()
        .chunks(n * d)
        .flat_map(|s| (0..d).map(move |k| s.iter().skip(k).step_by(d).sum::<f64>() / n as f64))
        .fold(0.0, |m, v| m.max(v.abs()))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Histogram KL between two samples and its null threshold. Bins: `bins` equal bins over the
/// first sample's 0.5 %–99.5 % quantiles plus one underflow and one overflow bin, so mass of
/// the second sample outside the first's range (e.g. stuck chains) is not ignored. Under a
/// common distribution, for large counts, `KL ≈ ½ Σ_b (P̂_b − Q̂_b)² / p_b`, and the sum is
/// `χ²_{B−1}` times `1/n₁ + 1/n₂` (B = bins + 2); with effective sizes `n₁, n₂` the threshold
/// is the χ² mean plus five of its standard deviations: `½ (B − 1 + 5 √(2(B − 1))) (1/n₁ + 1/n₂)`.
fn kl_and_threshold(a: &[f64], b: &[f64], bins: usize, n_a: f64, n_b: f64) -> (f64, f64) {
    let mut sorted = a.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (quantile(&sorted, 0.005), quantile(&sorted, 0.995));
    let probs = |v: &[f64]| -> Vec<f64> {
        let h = Histogram::new(v, bins, lo, hi);
        let total = v.len() as f64;
        let below = v.iter().filter(|x| **x < lo).count() as f64;
        let above = (h.outside as f64) - below;
        let inside = total - h.outside as f64;
        let mut p = vec![below / total];
        p.extend(h.probs.iter().map(|q| q * inside / total));
        p.push(above / total);
        p
    };
    let q = (bins + 1) as f64;
    let threshold = 0.5 * (q + 5.0 * (2.0 * q).sqrt()) * (1.0 / n_a + 1.0 / n_b);
    (histogram_kl(&probs(a), &probs(b)), threshold)
}

/// Two-sample Kolmogorov–Smirnov statistic `sup |F̂_a − F̂_b|` and its 0.1 % critical value
/// `1.95 √(1/n₁ + 1/n₂)` at effective sizes `n₁, n₂` (asymptotic Kolmogorov distribution).
fn ks_and_threshold(a: &[f64], b: &[f64], n_a: f64, n_b: f64) -> (f64, f64) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            i += 1;
        } else {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    (d, 1.95 * (1.0 / n_a + 1.0 / n_b).sqrt())
}

#[test]
fn dw4_mala_reference_agrees_with_independent_hmc() {
    let (np, nd, chains) = (4, 2, 256);
    let dw4 = Tempered::temperature(MultiDoubleWell::dw4());
    let reference = generate_reference(ReferenceTarget::Dw4, 16 * chains, 1);
    assert_eq!(reference.samples.shape(), [16 * chains, np * nd]);
    // The adaptation targets 0.574; after freezing h the rate drifts only by sampling noise.
    assert!(
        (reference.acceptance_rate - 0.574).abs() < 0.05,
        "MALA acceptance {}",
        reference.acceptance_rate
    );
    // The oracle: HMC (different kernel, seed and start: N(0, 1.5²) instead of N(0, 2²)).
    // Far-out starts (N(0, 3²)) leave ~8 % of chains stuck at U ~ 1e4: the shared step size
    // adapts to the typical chains and is unstable on the stiff quartic walls there.
    let x0 = Tensor::randn(&[chains, np * nd], DType::F64, &mut rng(11)).mul_scalar(1.5);
    let cfg = McmcConfig::hmc(0.05, 10, 300, 16, 5).with_mean_free(np, nd);
    let hmc = run_chains(&dw4, 1.0, &x0, &cfg, &mut rng(12));
    assert!(
        (hmc.acceptance_rate - 0.65).abs() < 0.05,
        "HMC acceptance {}",
        hmc.acceptance_rate
    );
    let oracle = hmc.samples();
    // Both mean-free to round-off (states are projected after every move).
    for (name, x) in [("MALA", &reference.samples), ("HMC", &oracle)] {
        let com = max_centre_of_mass(x, np, nd);
        assert!(com < 1e-10, "{name}: centre of mass {com}");
    }
    let (e_ref, v_ref) = energies_and_virials(&dw4, &reference.samples);
    let (e_hmc, v_hmc) = energies_and_virials(&dw4, &oracle);
    let (n_ref, n_hmc) = (ess(&e_ref, chains), ess(&e_hmc, chains));
    let (kl_e, thr_e) = kl_and_threshold(&e_ref, &e_hmc, 20, n_ref, n_hmc);
    // Pair distances: the six distances of one sample are correlated, so count samples,
    // not pairs, as the effective size (conservative: it can only raise the threshold).
    let d_ref = pair_distances(&reference.samples, np, nd, 0.0).to_vec_f64();
    let d_hmc = pair_distances(&oracle, np, nd, 0.0).to_vec_f64();
    let (kl_d, thr_d) = kl_and_threshold(&d_ref, &d_hmc, 20, n_ref, n_hmc);
    let (ks_e, ks_thr) = ks_and_threshold(&e_ref, &e_hmc, n_ref, n_hmc);
    eprintln!("DW4: energy KS {ks_e:.4} (critical {ks_thr:.4})");
    assert!(ks_e < ks_thr, "energy KS {ks_e} ≥ {ks_thr}");
    eprintln!(
        "DW4: acc MALA {:.3} HMC {:.3}; ESS {n_ref:.0} / {n_hmc:.0}; energy KL {kl_e:.4} \
         (threshold {thr_e:.4}); distance KL {kl_d:.4} (threshold {thr_d:.4})",
        reference.acceptance_rate, hmc.acceptance_rate
    );
    assert!(kl_e < thr_e, "energy histogram KL {kl_e} ≥ {thr_e}");
    assert!(kl_d < thr_d, "distance histogram KL {kl_d} ≥ {thr_d}");
    // Exact identity: ⟨x · ∇U⟩ = D = (4 − 1) · 2 = 6, within 5 IAT-inflated standard errors.
    for (name, v) in [("MALA", &v_ref), ("HMC", &v_hmc)] {
        let (m, se) = mean_and_se(v, chains);
        eprintln!("DW4 {name}: ⟨x·∇U⟩ = {m:.3} ± {se:.3} (exact 6)");
        assert!(
            (m - 6.0).abs() < 5.0 * se,
            "{name}: ⟨x·∇U⟩ {m} ± {se}, exact 6"
        );
    }
}

#[test]
fn lj13_reference_is_sane_and_agrees_with_hmc() {
    let (np, nd, chains) = (13, 3, 64);
    let lj = Tempered::temperature(LennardJones::lj13());
    let set = generate_reference_with(ReferenceTarget::Lj13, 8 * chains, 2, chains, 600);
    assert_eq!(set.samples.shape(), [8 * chains, np * nd]);
    assert!(
        (set.acceptance_rate - 0.574).abs() < 0.05,
        "acceptance {}",
        set.acceptance_rate
    );
    let com = max_centre_of_mass(&set.samples, np, nd);
    assert!(com < 1e-10, "centre of mass {com}");
    let (u, vir) = energies_and_virials(&lj, &set.samples);
    assert!(u.iter().all(|v| v.is_finite()), "non-finite energy");
    // No overlapping pairs: u(0.75) − u(1) = 20.4 + 1 ≈ 21 kT, so the Boltzmann weight of a
    // pair at r < 0.75 relative to one near the minimum is < e^{−21} ≈ 8e−10 per pair; over
    // 512 · 78 ≈ 4e4 pairs the expected count is < 1e−4.
    let r = pair_distances(&set.samples, np, nd, 0.0).to_vec_f64();
    let r_min = r.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(r_min > 0.75, "minimum pair distance {r_min}");
    // ⟨x · ∇U⟩ = D = 12 · 3 = 36 (exact at equilibrium), within 5 IAT-inflated SEs.
    let (m, se) = mean_and_se(&vir, chains);
    let (mu, _) = mean_and_se(&u, chains);
    eprintln!(
        "LJ13: acc {:.3}; ⟨U⟩ = {mu:.2}; min pair distance {r_min:.3}; ⟨x·∇U⟩ = {m:.2} ± {se:.2} \
         (exact 36)",
        set.acceptance_rate
    );
    assert!((m - 36.0).abs() < 5.0 * se, "⟨x·∇U⟩ {m} ± {se}, exact 36");
    // Independent HMC oracle from a different start (cubic grid of spacing 1.2, jitter 0.1).
    let grid: Vec<f64> = (0..np)
        .flat_map(|p| [(p % 3) as f64, ((p / 3) % 3) as f64, (p / 9) as f64])
        .map(|v| 1.2 * v)
        .collect();
    let x0 = Tensor::from_vec(grid, &[1, np * nd])
        .broadcast_to(&[chains, np * nd])
        .add(&Tensor::randn(&[chains, np * nd], DType::F64, &mut rng(21)).mul_scalar(0.1));
    let cfg = McmcConfig::hmc(0.01, 5, 300, 8, 5).with_mean_free(np, nd);
    let hmc = run_chains(&lj, 1.0, &x0, &cfg, &mut rng(22));
    let (u_hmc, vir_hmc) = energies_and_virials(&lj, &hmc.samples());
    let (n_ref, n_hmc) = (ess(&u, chains), ess(&u_hmc, chains));
    let (kl, thr) = kl_and_threshold(&u, &u_hmc, 10, n_ref, n_hmc);
    let (ks, ks_thr) = ks_and_threshold(&u, &u_hmc, n_ref, n_hmc);
    let (mh, seh) = mean_and_se(&vir_hmc, chains);
    eprintln!(
        "LJ13 HMC: acc {:.3}; ESS {n_ref:.0} / {n_hmc:.0}; energy KL {kl:.4} (threshold \
         {thr:.4}); KS {ks:.4} (critical {ks_thr:.4}); ⟨x·∇U⟩ = {mh:.2} ± {seh:.2}",
        hmc.acceptance_rate
    );
    // Low power at these sizes (ESS ~ 100: KS detects CDF gaps ≳ 0.3), but a stuck or
    // unequilibrated set on either side would fail.
    assert!(kl < thr, "LJ13 energy histogram KL {kl} ≥ {thr}");
    assert!(ks < ks_thr, "LJ13 energy KS {ks} ≥ {ks_thr}");
    assert!(
        (mh - 36.0).abs() < 5.0 * seh,
        "HMC ⟨x·∇U⟩ {mh} ± {seh}, exact 36"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("flow-data-reference-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn cache_round_trip_and_corruption() {
    let dir = temp_dir("cache");
    let (n, seed) = (300, 5);
    let first = load_or_generate_reference(ReferenceTarget::Dw4, n, seed, &dir).unwrap();
    assert!(first.acceptance_rate.is_finite(), "freshly generated");
    let path = dir.join(format!("dw4-n{n}-s{seed}.f64"));
    assert!(path.exists());
    let second = load_or_generate_reference(ReferenceTarget::Dw4, n, seed, &dir).unwrap();
    assert!(second.acceptance_rate.is_nan(), "loaded from the cache");
    // Bit-identical: f64 round trip through little-endian bytes.
    assert_eq!(first.samples.shape(), second.samples.shape());
    assert_eq!(first.samples.to_vec_f64(), second.samples.to_vec_f64());

    let expect_malformed =
        |what: &str| match load_or_generate_reference(ReferenceTarget::Dw4, n, seed, &dir) {
            Err(e @ DataError::MalformedCache { .. }) => {
                let DataError::MalformedCache { source_name, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(source_name, &path, "{what}");
                assert!(e.to_string().contains("dw4-n300-s5.f64"), "{what}: {e}");
            }
            other => panic!("{what}: expected MalformedCache, got {other:?}"),
        };
    let bytes = std::fs::read(&path).unwrap();
    // Truncated body.
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    expect_malformed("truncated");
    // Header shorter than 16 bytes.
    std::fs::write(&path, &bytes[..10]).unwrap();
    expect_malformed("short header");
    // A header whose rows × cols overflows usize must not panic.
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &huge).unwrap();
    expect_malformed("overflowing header");
    // A non-finite value.
    let mut nan = bytes.clone();
    nan[16..24].copy_from_slice(&f64::NAN.to_le_bytes());
    std::fs::write(&path, &nan).unwrap();
    expect_malformed("NaN");
    // A well-formed file of the wrong shape at the expected name.
    let mut wrong = bytes.clone();
    wrong[..8].copy_from_slice(&((n / 2) as u64).to_le_bytes());
    wrong[8..16].copy_from_slice(&16u64.to_le_bytes());
    std::fs::write(&path, &wrong).unwrap();
    expect_malformed("wrong shape");
    std::fs::remove_dir_all(&dir).unwrap();
}
