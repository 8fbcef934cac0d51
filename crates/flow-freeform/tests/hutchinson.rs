//! The Hutchinson sampler (FFF arXiv:2310.16624, Eq. 8; official `sample_v`): exact norms,
//! orthogonal frames, `E[v vᵀ] = I` and `mean vᵀ M v → tr M`.

mod common;

use flow_core::DType;
use flow_freeform::{HutchinsonSampler, sample_v};

const SAMPLERS: [HutchinsonSampler; 3] = [
    HutchinsonSampler::Qr,
    HutchinsonSampler::Sphere,
    HutchinsonSampler::Gaussian,
];

#[test]
fn qr_frames_have_norm_sqrt_dim_and_orthogonal_columns() {
    let mut rng = common::rng(1);
    let (batch, dim, k) = (50, 7, 4);
    let vs = sample_v(batch, dim, k, HutchinsonSampler::Qr, DType::F64, &mut rng);
    let cols: Vec<Vec<f64>> = vs.iter().map(|v| v.to_vec_f64()).collect();
    for b in 0..batch {
        for i in 0..k {
            for j in 0..k {
                let dot: f64 = (0..dim)
                    .map(|d| cols[i][b * dim + d] * cols[j][b * dim + d])
                    .sum();
                let want = if i == j { dim as f64 } else { 0.0 };
                assert!(
                    (dot - want).abs() < 1e-12,
                    "sample {b}: <v{i}, v{j}> = {dot}"
                );
            }
        }
    }
    let sphere = sample_v(
        batch,
        dim,
        1,
        HutchinsonSampler::Sphere,
        DType::F64,
        &mut rng,
    );
    for row in sphere[0].to_vec_f64().chunks(dim) {
        let n2: f64 = row.iter().map(|x| x * x).sum();
        assert!((n2 - dim as f64).abs() < 1e-12);
    }
}

#[test]
fn second_moment_is_identity_and_trace_estimate_is_unbiased() {
    let dim = 5;
    let n = 20_000;
    let mut rng = common::rng(2);
    // A fixed non-symmetric M with tr M = Σ m_ii.
    let m: Vec<f64> = (0..dim * dim)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
        .collect();
    let trace: f64 = (0..dim).map(|i| m[i * dim + i]).sum();
    for sampler in SAMPLERS {
        let v = sample_v(n, dim, 1, sampler, DType::F64, &mut rng)
            .remove(0)
            .to_vec_f64();
        // Per-sample quadratic forms vᵀ M v and outer products v_i v_j.
        let quad: Vec<Vec<f64>> = v
            .chunks(dim)
            .map(|r| {
                let q: f64 = (0..dim)
                    .flat_map(|i| (0..dim).map(move |j| (i, j)))
                    .map(|(i, j)| r[i] * m[i * dim + j] * r[j])
                    .sum();
                let mut row = vec![q];
                row.extend((0..dim * dim).map(|ij| r[ij / dim] * r[ij % dim]));
                row
            })
            .collect();
        let (mean, se) = common::mean_and_se(&quad);
        // 5 standard errors: over 26 checks × 3 samplers a false alarm has probability < 1e-4.
        assert!(
            (mean[0] - trace).abs() < 5.0 * se[0],
            "{sampler:?}: mean vᵀMv = {} vs tr M = {trace} (SE {})",
            mean[0],
            se[0]
        );
        for ij in 0..dim * dim {
            let want = if ij / dim == ij % dim { 1.0 } else { 0.0 };
            assert!(
                (mean[1 + ij] - want).abs() < 5.0 * se[1 + ij] + 1e-12,
                "{sampler:?}: E[vvᵀ] entry {ij} = {} (SE {})",
                mean[1 + ij],
                se[1 + ij]
            );
        }
        // The standard error shrinks like 1/√n: a quarter of the samples doubles it (±25 %).
        let (_, se_quarter) = common::mean_and_se(&quad[..n / 4]);
        let ratio = se_quarter[0] / se[0];
        assert!((ratio - 2.0).abs() < 0.5, "{sampler:?}: SE ratio {ratio}");
    }
}

#[test]
#[should_panic(expected = "orthonormal vectors do not fit")]
fn more_qr_vectors_than_dimensions_is_an_error() {
    let _ = sample_v(
        1,
        2,
        3,
        HutchinsonSampler::Qr,
        DType::F64,
        &mut common::rng(0),
    );
}
