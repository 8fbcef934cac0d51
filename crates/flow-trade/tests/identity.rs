//! The TRADE identity `∂_c log p(x|c) = E_p[A] − A(x; c)` on closed-form families, and the
//! exact-tempering oracle of a volume-preserving flow with latent N(0, T·I) (`trade.md` §6
//! items 1 and 6).

use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use flow_data::energy::quadrature::expectation;
use flow_data::energy::{DiagonalGaussian, DoubleWell2d, Tempered};
use flow_trade::Family;
use flow_trade::family::c_vec;
use flow_trade::flow::{Architecture, ParamFlow, ParamFlowConfig};
use flow_trade::metrics::{energy_free_residuals, self_consistency_kl};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// 1-D Gaussian E = x²/2 at temperature T: p = N(0, T), `∂_T log p = x²/(2T²) − 1/(2T)`,
/// A = −x²/(2T²), E_p[A] = −1/(2T). `E_p[A] − A` from the family's A (and E_p[A] by
/// quadrature) equals the analytic derivative and a central difference of the normalised
/// log-density (log Z(T) from the closed form).
#[test]
fn identity_on_a_one_dimensional_gaussian() {
    let g = DiagonalGaussian {
        mean: vec![0.0],
        std: vec![1.0],
    };
    let log_z = |t: f64| g.log_z(t);
    let fam = Family::new(Box::new(Tempered::temperature(g.clone())), 1.0, 0.2, 5.0).unwrap();
    let xs = [-2.5, -0.3, 0.0, 1.1, 3.0];
    let x = Tensor::from_vec(xs.to_vec(), &[5, 1]);
    for t in [0.3, 1.0, 2.7] {
        let ex = expectation(
            |y| -0.5 * y * y / t,
            |y| -0.5 * y * y / (t * t),
            -40.0,
            40.0,
            4000,
        );
        assert!((ex + 0.5 / t).abs() < 1e-10, "E_p[A] = {ex}");
        let a = fam.a(&x, &c_vec(t, 5, &x)).to_vec_f64();
        let h = 1e-5 * t;
        for (i, &xi) in xs.iter().enumerate() {
            let analytic = xi * xi / (2.0 * t * t) - 1.0 / (2.0 * t);
            let lp = |t: f64| -0.5 * xi * xi / t - log_z(t);
            let fd = (lp(t + h) - lp(t - h)) / (2.0 * h);
            assert!(
                (ex - a[i] - analytic).abs() < 1e-9,
                "identity at x = {xi}, T = {t}"
            );
            assert!((fd - analytic).abs() < 1e-6 * (1.0 + analytic.abs()));
        }
    }
}

/// The same identity for the 2-D double well: E_T[A] by 1-D quadrature (A = −u/T², with
/// E_T[½x₂²] = T/2), log Z(T) from flow-data's quadrature, derivative by central difference.
#[test]
fn identity_on_the_double_well() {
    let dw = DoubleWell2d::bgflow();
    let fam = Family::new(Box::new(Tempered::temperature(dw.clone())), 1.0, 0.4, 1.1).unwrap();
    let q = |x: f64| dw.a * x + dw.b * x * x + dw.c * x.powi(4);
    let pts = [[-1.4, 0.2], [0.0, 0.0], [1.7, -1.0]];
    let x = Tensor::from_vec(pts.concat(), &[3, 2]);
    for t in [0.4, 0.7, 1.1] {
        let ex = -(expectation(|y| -q(y) / t, q, -8.0, 8.0, 4000) + 0.5 * t) / (t * t);
        let a = fam.a(&x, &c_vec(t, 3, &x)).to_vec_f64();
        let h = 1e-4 * t;
        for (i, p) in pts.iter().enumerate() {
            let u = q(p[0]) + 0.5 * p[1] * p[1];
            let lp = |t: f64| -u / t - dw.log_z(t);
            let fd = (lp(t + h) - lp(t - h)) / (2.0 * h);
            // Central difference O(h²) ≈ 1e-8·|∂³ log p|; quadrature error ≪ 1e-9.
            assert!(
                (ex - a[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "T = {t}: {} vs {fd}",
                ex - a[i]
            );
        }
    }
}

fn randomize(model: &ParamFlow, scale: f64, rng: &mut Xoshiro256PlusPlus) {
    for p in model.parameters() {
        let v = p.get();
        p.set(v.add(&Tensor::randn(v.shape(), DType::F64, rng).mul_scalar(scale)));
    }
}

/// A volume-preserving (GIN) flow with latent N(0, T·I): `log q(x|T) = log q(x|1)/T + k(T)`
/// exactly, so (a) the difference is the same for every x to round-off, (b) the energy-free
/// residual has zero mean up to Monte Carlo error, (c) the self-consistency KL is zero up to
/// Monte Carlo error, while a general (affine, conditional) flow gives a clearly positive KL.
#[test]
fn volume_preserving_flow_tempers_exactly() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
    let vp = ParamFlowConfig::affine(2, 4, &[16])
        .with_architecture(Architecture::VolumePreserving { clamp: 2.0 })
        .with_conditional(false)
        .build(DType::F64, &mut rng);
    randomize(&vp, 0.4, &mut rng);
    let n = 50;
    let x = Tensor::randn(&[n, 2], DType::F64, &mut rng).mul_scalar(2.0);
    let l1 = flow_trade::metrics::log_q(&vp, &x, 1.0);
    for t in [0.5, 2.0] {
        let lt = flow_trade::metrics::log_q(&vp, &x, t);
        let k: Vec<f64> = lt.iter().zip(&l1).map(|(a, b)| a - b / t).collect();
        let spread =
            k.iter().cloned().fold(f64::MIN, f64::max) - k.iter().cloned().fold(f64::MAX, f64::min);
        assert!(
            spread < 1e-11,
            "T = {t}: log q(x|T) − log q(x|1)/T varies by {spread}"
        );
        // (b): residuals are constant in x and their value is k'(T) − Ê[log q(·|1)]/T², a
        // Monte Carlo error: with 20k samples |mean| should be within a few standard errors.
        let r = energy_free_residuals(&vp, t, 1.0, 20_000, &mut rng);
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let sd_r = (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / r.len() as f64).sqrt();
        assert!(sd_r < 1e-9, "residual varies with x: {sd_r}");
        // The residual equals −(mean − E)[log q1]/T²; log q1 has sd ≈ 1–3 here, so the
        // standard error of the mean is ≲ 3/(T²·√20000) ≈ 0.09 at T = 0.5.
        assert!(
            mean.abs() < 0.1,
            "T = {t}: energy-free residual mean {mean}"
        );
        let kl = self_consistency_kl(&vp, t, 1.0, 20_000, &mut rng);
        assert!(
            kl.abs() < 0.02,
            "T = {t}: self-consistency KL of a VP flow {kl}"
        );
    }
    // A general conditional flow does not temper exactly.
    let general = ParamFlowConfig::affine(2, 4, &[16]).build(DType::F64, &mut rng);
    randomize(&general, 0.4, &mut rng);
    let kl = self_consistency_kl(&general, 0.5, 1.0, 20_000, &mut rng);
    assert!(
        kl > 0.05,
        "general flow self-consistency KL {kl} should be clearly positive"
    );
}
