//! The E(n)-GNN of E(3)-FFF (FFF arXiv:2310.16624 §5.2; EGNN arXiv:2102.09844): equivariance
//! to rotations/reflections, translations and permutations in f32 (to 1e-5), a mean-free
//! update, identity Jacobian along the centre of mass, and full slogdet = mean-free slogdet.

mod common;

use flow_core::nn::{Module, values};
use flow_core::{DType, Tensor, grad, jacobian, jvp};
use flow_freeform::egnn::MessagePassing;
use flow_freeform::{Egnn, EgnnConfig, Latent, Network};

const N: usize = 5;
const D: usize = 3;

fn net_with(dtype: DType, passing: MessagePassing) -> Egnn {
    // Gain 1 on the coordinate heads and no 1/100 aggregation factor, so that the update is
    // O(1) rather than the near-identity of the official initialisation.
    let mut cfg = EgnnConfig::new(N, D, 3)
        .with_hidden(16)
        .with_coord_head_gain(1.0)
        .with_message_passing(passing);
    cfg.normalization_factor = 1.0;
    cfg.build("egnn", dtype, &mut common::rng(30))
}

fn net(dtype: DType) -> Egnn {
    net_with(dtype, MessagePassing::Dense)
}

/// Applies `x_i ↦ R x_i + t` to flat `[b, N·D]` coordinates (row-major R).
fn transform(x: &[f64], r: &[f64], t: &[f64]) -> Vec<f64> {
    x.chunks(D)
        .flat_map(|p| (0..D).map(move |i| (0..D).map(|j| r[i * D + j] * p[j]).sum::<f64>() + t[i]))
        .collect()
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn egnn_is_equivariant_in_f32() {
    for passing in [MessagePassing::Dense, MessagePassing::Sparse] {
        check_equivariance(&net_with(DType::F32, passing));
    }
}

fn check_equivariance(egnn: &Egnn) {
    let b = 6;
    let x = Tensor::randn(&[b, N * D], DType::F64, &mut common::rng(31)).mul_scalar(1.5);
    let xv = x.to_vec_f64();
    let run = |v: &[f64]| {
        let t = Tensor::from_slice(v, &[b, N * D]).to_dtype(DType::F32);
        egnn.forward(&t, None).to_vec_f64()
    };
    let y = run(&xv);
    let vel = egnn.velocity(&x.to_dtype(DType::F32)).to_vec_f64();
    let vel_scale = vel.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        vel_scale > 0.05,
        "update too small for a meaningful test: {vel_scale}"
    );
    // f32 tolerance: outputs are O(1) and pass ~10 layers of width ≤ 35; 1e-5 absolute.
    let tol = 1e-5;
    for (seed, reflect) in [(1, false), (2, true)] {
        let r = common::random_orthogonal(D, reflect, seed);
        let t = [0.7, -1.3, 0.4];
        let lhs = run(&transform(&xv, &r, &t));
        let rhs = transform(&y, &r, &t);
        let e = max_err(&lhs, &rhs);
        assert!(
            e < tol,
            "{:?}: rotation/translation (reflect {reflect}): error {e}",
            egnn.config().message_passing
        );
    }
    // Permutation of particles within each sample.
    let perm = [3, 0, 4, 1, 2];
    let permute = |v: &[f64]| -> Vec<f64> {
        v.chunks(N * D)
            .flat_map(|s| {
                perm.iter()
                    .flat_map(move |&p| s[p * D..(p + 1) * D].to_vec())
            })
            .collect()
    };
    let e = max_err(&run(&permute(&xv)), &permute(&y));
    assert!(
        e < tol,
        "{:?}: permutation error {e}",
        egnn.config().message_passing
    );
}

#[test]
fn update_is_mean_free_and_jacobian_fixes_the_centre_of_mass() {
    let egnn = net(DType::F64);
    let x = Tensor::randn(&[4, N * D], DType::F64, &mut common::rng(32));
    let vel = egnn.velocity(&x).to_vec_f64();
    for s in vel.chunks(N * D) {
        for k in 0..D {
            let com: f64 = (0..N).map(|i| s[i * D + k]).sum();
            assert!(com.abs() < 1e-12, "velocity centre of mass {com}");
        }
    }
    let jac = jacobian(|x| egnn.forward(x, None), &x); // [b, ND, ND]
    let jv = jac.to_vec_f64();
    let nd = N * D;
    // Orthonormal basis of the mean-free subspace: Helmert-like contrasts ⊗ e_k.
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for m in 1..N {
        let norm = ((m * (m + 1)) as f64).sqrt();
        for k in 0..D {
            let mut v = vec![0.0; nd];
            for i in 0..m {
                v[i * D + k] = 1.0 / norm;
            }
            v[m * D + k] = -(m as f64) / norm;
            basis.push(v);
        }
    }
    for (bi, jm) in jv.chunks(nd * nd).enumerate() {
        let apply = |v: &[f64]| -> Vec<f64> {
            (0..nd)
                .map(|i| (0..nd).map(|j| jm[i * nd + j] * v[j]).sum())
                .collect()
        };
        for k in 0..D {
            let mut com = vec![0.0; nd];
            (0..N).for_each(|i| com[i * D + k] = 1.0);
            let e = max_err(&apply(&com), &com);
            assert!(e < 1e-10, "sample {bi}: J·1⊗e_{k} ≠ 1⊗e_{k} (error {e})");
        }
        // Restricted Jacobian QᵀJQ on the mean-free subspace.
        let r = basis.len();
        let restricted: Vec<f64> = basis
            .iter()
            .flat_map(|qi| {
                let jq: Vec<Vec<f64>> = basis.iter().map(|qj| apply(qj)).collect();
                jq.into_iter()
                    .map(|col| qi.iter().zip(&col).map(|(a, b)| a * b).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect();
        let full = Tensor::from_slice(jm, &[nd, nd]).slogdet().1.item();
        let sub = Tensor::from_vec(restricted, &[r, r]).slogdet().1.item();
        assert!(
            (full - sub).abs() < 1e-10,
            "sample {bi}: full {full} vs mean-free {sub}"
        );
    }
}

#[test]
fn mean_free_latent_is_standard_normal_on_the_subspace() {
    let lat = Latent::mean_free(N, D);
    let mut rng = common::rng(33);
    let z = lat.sample(3, DType::F64, &mut rng);
    for s in z.to_vec_f64().chunks(N * D) {
        for k in 0..D {
            assert!((0..N).map(|i| s[i * D + k]).sum::<f64>().abs() < 1e-12);
        }
    }
    // ‖z‖² is the squared norm of the (N−1)D orthonormal coordinates, so the log-density is
    // the (N−1)D-dimensional standard normal one.
    let lp = lat.log_prob(&z).to_vec_f64();
    for (s, l) in z.to_vec_f64().chunks(N * D).zip(lp) {
        let r2: f64 = s.iter().map(|v| v * v).sum();
        let want = -0.5 * r2 - 0.5 * ((N - 1) * D) as f64 * (2.0 * std::f64::consts::PI).ln();
        assert!((l - want).abs() < 1e-12);
    }
}

#[test]
fn every_egnn_parameter_receives_gradient() {
    let egnn = net(DType::F64);
    let x = Tensor::randn(&[2, N * D], DType::F64, &mut common::rng(34));
    let params = egnn.parameters();
    let loss = egnn.forward(&x, None).sin().sum_all();
    let g = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
    for (p, g) in params.iter().zip(&g) {
        assert!(
            g.to_vec_f64().iter().any(|v| *v != 0.0),
            "{} got no gradient",
            p.name()
        );
    }
}

/// The dense neighbour layout (split first layer, gathered neighbours, sums over the neighbour
/// axis) and the sparse gather/scatter layout are the same function: equal outputs, input and
/// parameter gradients and Jacobian-vector products (f64 round-off), and equal outputs in f32.
#[test]
fn dense_and_sparse_message_passing_agree() {
    let dense = net_with(DType::F64, MessagePassing::Dense);
    let sparse = net_with(DType::F64, MessagePassing::Sparse);
    let names = |e: &Egnn| -> Vec<String> {
        e.parameters()
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    };
    assert_eq!(names(&dense), names(&sparse), "same parameters");
    let x = Tensor::randn(&[3, N * D], DType::F64, &mut common::rng(35)).mul_scalar(1.5);
    let v = Tensor::randn(&[3, N * D], DType::F64, &mut common::rng(36));
    let (y_d, t_d) = jvp(|u| dense.forward(u, None), &x, &v);
    let (y_s, t_s) = jvp(|u| sparse.forward(u, None), &x, &v);
    let scale = y_d.to_vec_f64().iter().fold(0.0f64, |m, a| m.max(a.abs()));
    assert!(scale > 0.5, "outputs too small to compare: {scale}");
    assert!(max_err(&y_d.to_vec_f64(), &y_s.to_vec_f64()) < 1e-12);
    assert!(max_err(&t_d.to_vec_f64(), &t_s.to_vec_f64()) < 1e-12);
    let grads = |e: &Egnn| -> Vec<Vec<f64>> {
        let x = x.requires_grad();
        let params = e.parameters();
        let mut wrt: Vec<Tensor> = values(&params);
        wrt.push(x.clone());
        let loss = e.forward(&x, None).sin().sum_all();
        grad(&loss, &wrt.iter().collect::<Vec<_>>())
            .iter()
            .map(Tensor::to_vec_f64)
            .collect()
    };
    for (i, (gd, gs)) in grads(&dense).iter().zip(grads(&sparse)).enumerate() {
        let e = max_err(gd, &gs);
        assert!(e < 1e-11, "gradient {i} differs by {e}");
    }
    let x32 = x.to_dtype(DType::F32);
    let (d32, s32) = (
        net_with(DType::F32, MessagePassing::Dense).forward(&x32, None),
        net_with(DType::F32, MessagePassing::Sparse).forward(&x32, None),
    );
    assert!(max_err(&d32.to_vec_f64(), &s32.to_vec_f64()) < 1e-5);
}
