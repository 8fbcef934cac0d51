//! Shared test helpers: seeded RNGs, f64 finite-difference checks, random orthogonal matrices.
#![allow(dead_code)]

use flow_core::{DType, Tensor, grad};
use flow_data::energy::{Energy, param};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Checks `⟨∇ₓE, v⟩` against the central difference `(E(x+hv) − E(x−hv))/2h` for every sample,
/// and `∂E/∂c` (closed form) against autodiff and a central difference in `c`.
/// Central differences have error `O(h²)`: with h = 1e-5 and O(1) third derivatives the
/// truncation error is ~1e-10, round-off ~ε|E|/h ≈ 1e-11 |E|; the tolerance is
/// `tol · (1 + |value|)`.
pub fn check_energy_grads(e: &dyn Energy, x: &Tensor, c: f64, tol: f64) {
    assert_eq!(x.dtype(), DType::F64);
    let mut r = rng(99);
    let v = Tensor::randn(x.shape(), DType::F64, &mut r);
    let ct = param(c, x);
    let xl = x.requires_grad();
    let en = e.energy(&xl, &ct);
    let g = grad(&en.sum_all(), &[&xl]).remove(0);
    let dir = g.mul(&v).sum_axis(1, false).to_vec_f64();
    let h = 1e-5;
    let ep = e.energy(&x.add(&v.mul_scalar(h)), &ct).to_vec_f64();
    let em = e.energy(&x.sub(&v.mul_scalar(h)), &ct).to_vec_f64();
    let e0 = en.to_vec_f64();
    for i in 0..dir.len() {
        let fd = (ep[i] - em[i]) / (2.0 * h);
        let scale = 1.0 + fd.abs() + e0[i].abs() * 1e-6;
        assert!(
            (fd - dir[i]).abs() < tol * scale,
            "x-gradient sample {i}: autodiff {} vs FD {fd}",
            dir[i]
        );
    }
    // ∂E/∂c: closed form vs autodiff vs central difference (per sample, c of shape [b]).
    let b = x.dim(0);
    let cb = Tensor::full(&[b], c, DType::F64).requires_grad();
    let ad = grad(&e.energy(x, &cb).sum_all(), &[&cb])
        .remove(0)
        .to_vec_f64();
    let closed = e.energy_dc(x, &param(c, x)).to_vec_f64();
    let hc = 1e-6 * c.abs().max(1.0);
    let cp = e.energy(x, &param(c + hc, x)).to_vec_f64();
    let cm = e.energy(x, &param(c - hc, x)).to_vec_f64();
    for i in 0..b {
        let fd = (cp[i] - cm[i]) / (2.0 * hc);
        let scale = 1.0 + closed[i].abs();
        assert!(
            (closed[i] - ad[i]).abs() < 1e-10 * scale,
            "dE/dc sample {i}: closed {} vs autodiff {}",
            closed[i],
            ad[i]
        );
        assert!(
            (closed[i] - fd).abs() < tol * scale,
            "dE/dc sample {i}: closed {} vs FD {fd}",
            closed[i]
        );
    }
}

/// A Haar-random orthogonal d×d matrix (Gram–Schmidt of a Gaussian matrix), row-major;
/// if `reflect`, the first row is negated (det −1).
pub fn random_orthogonal(d: usize, reflect: bool, seed: u64) -> Vec<f64> {
    let m = Tensor::randn(&[d, d], DType::F64, &mut rng(seed)).to_vec_f64();
    let mut q: Vec<Vec<f64>> = Vec::new();
    for i in 0..d {
        let mut v = m[i * d..(i + 1) * d].to_vec();
        for u in &q {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        q.push(v.iter().map(|a| a / n).collect());
    }
    if reflect {
        q[0].iter_mut().for_each(|a| *a = -*a);
    }
    q.concat()
}

/// Applies a d×d matrix to every particle of `x: [b, n·d]`.
pub fn rotate_particles(x: &Tensor, q: &[f64], n: usize, d: usize) -> Tensor {
    let qt = Tensor::from_vec(q.to_vec(), &[d, d]);
    x.reshape(&[x.dim(0) * n, d])
        .matmul_transposed(&qt)
        .reshape(&[x.dim(0), n * d])
}

/// Permutes the particles of `x: [b, n·d]`.
pub fn permute_particles(x: &Tensor, perm: &[usize], n: usize, d: usize) -> Tensor {
    x.reshape(&[x.dim(0), n, d])
        .index_select(1, perm)
        .reshape(&[x.dim(0), n * d])
}

/// `n` particles in 3-D on a jittered cubic grid of spacing `a` (no overlaps), `b` samples.
pub fn jittered_cluster(b: usize, n: usize, a: f64, jitter: f64, seed: u64) -> Tensor {
    let mut r = rng(seed);
    let noise = Tensor::randn(&[b, n * 3], DType::F64, &mut r).to_vec_f64();
    let mut v = Vec::with_capacity(b * n * 3);
    for s in 0..b {
        for p in 0..n {
            let g = [(p % 3) as f64, ((p / 3) % 3) as f64, (p / 9) as f64];
            for k in 0..3 {
                v.push(a * g[k] + jitter * noise[s * n * 3 + p * 3 + k]);
            }
        }
    }
    Tensor::from_vec(v, &[b, n * 3])
}
