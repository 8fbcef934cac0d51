//! Small models with analytic inverses and statistics helpers shared by the tests.
#![allow(dead_code)]

use flow_core::nn::{Linear, LinearConfig, Module, Param};
use flow_core::{DType, Tensor};
use flow_freeform::Network;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// `z = A x + b` (dense, square or rectangular).
pub struct LinearNet {
    pub layer: Linear,
}

impl LinearNet {
    pub fn new(a: &Tensor, b: &Tensor, name: &str) -> Self {
        let mut r = rng(0);
        let layer = LinearConfig::new(a.dim(1), a.dim(0)).build(name, a.dtype(), &mut r);
        layer.weight.set(a.clone());
        layer.bias.as_ref().expect("bias").set(b.clone());
        LinearNet { layer }
    }
}

impl Network for LinearNet {
    fn forward(&self, x: &Tensor, _c: Option<&Tensor>) -> Tensor {
        self.layer.forward(x)
    }
    fn input_dim(&self) -> usize {
        self.layer.input_dim()
    }
    fn output_dim(&self) -> usize {
        self.layer.output_dim()
    }
}

impl Module for LinearNet {
    fn parameters(&self) -> Vec<Param> {
        self.layer.parameters()
    }
}

/// An invertible map on R^4 with analytic inverse and log-det:
/// `c(x) = (x₁, x₂ ⊙ exp(s(x₁)) + t(x₁))` (x₁, x₂ ∈ R²; `[s, t] = W₂ tanh(W₁ x₁ + b₁) + b₂`),
/// then `z = A c(x)`. `log|det J| = log|det A| + Σ s(x₁)`.
pub struct Coupling {
    pub hidden: Linear,
    pub out: Linear,
    pub mix: Param,
}

impl Coupling {
    pub fn new(seed: u64) -> Self {
        let mut r = rng(seed);
        let hidden = LinearConfig::new(2, 8).build("c.hidden", DType::F64, &mut r);
        let out = LinearConfig::new(8, 4).build("c.out", DType::F64, &mut r);
        let g = Tensor::randn(&[4, 4], DType::F64, &mut r).mul_scalar(0.3);
        let mix = Param::new("c.mix", Tensor::eye(4, DType::F64).add(&g));
        Coupling { hidden, out, mix }
    }

    fn st(&self, x1: &Tensor) -> (Tensor, Tensor) {
        let st = self.out.forward(&self.hidden.forward(x1).tanh());
        (st.narrow(1, 0, 2), st.narrow(1, 2, 2))
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (x1, x2) = (x.narrow(1, 0, 2), x.narrow(1, 2, 2));
        let (s, t) = self.st(&x1);
        let c = Tensor::concat(&[&x1, &x2.mul(&s.exp()).add(&t)], 1);
        c.matmul_transposed(&self.mix.get())
    }

    /// The analytic inverse, with parameters detached (the decoder is frozen in the tests).
    pub fn inverse(&self, z: &Tensor) -> Tensor {
        let a_inv = self.mix.get().detach().inverse();
        let c = z.matmul_transposed(&a_inv);
        let (y1, y2) = (c.narrow(1, 0, 2), c.narrow(1, 2, 2));
        let h = y1
            .matmul_transposed(&self.hidden.weight.get().detach())
            .add(&self.hidden.bias.as_ref().unwrap().get().detach())
            .tanh();
        let st = h
            .matmul_transposed(&self.out.weight.get().detach())
            .add(&self.out.bias.as_ref().unwrap().get().detach());
        let (s, t) = (st.narrow(1, 0, 2), st.narrow(1, 2, 2));
        Tensor::concat(&[&y1, &y2.sub(&t).mul(&s.neg().exp())], 1)
    }

    /// Analytic `log|det J_f(x)|`, `[batch]`.
    pub fn log_det(&self, x: &Tensor) -> Tensor {
        let (s, _) = self.st(&x.narrow(1, 0, 2));
        s.sum_axis(1, false).add(&self.mix.get().slogdet().1)
    }

    pub fn params(&self) -> Vec<Param> {
        let mut p = self.hidden.parameters();
        p.extend(self.out.parameters());
        p.push(self.mix.clone());
        p
    }
}

/// Encoder or decoder view of a shared [`Coupling`] (decoder: analytic inverse).
pub struct CouplingNet {
    pub inner: std::rc::Rc<Coupling>,
    pub inverse: bool,
}

impl Network for CouplingNet {
    fn forward(&self, x: &Tensor, _c: Option<&Tensor>) -> Tensor {
        if self.inverse {
            self.inner.inverse(x)
        } else {
            self.inner.forward(x)
        }
    }
    fn input_dim(&self) -> usize {
        4
    }
    fn output_dim(&self) -> usize {
        4
    }
}

impl Module for CouplingNet {
    fn parameters(&self) -> Vec<Param> {
        if self.inverse {
            Vec::new()
        } else {
            self.inner.params()
        }
    }
}

/// Mean and standard error of each column of `rows` (each row one independent estimate).
pub fn mean_and_se(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() as f64;
    let m = rows[0].len();
    let mean: Vec<f64> = (0..m)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let se = (0..m)
        .map(|j| {
            let var = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / (n - 1.0);
            (var / n).sqrt()
        })
        .collect();
    (mean, se)
}

/// Concatenated gradient entries.
pub fn flat(grads: &[Tensor]) -> Vec<f64> {
    grads.iter().flat_map(|g| g.to_vec_f64()).collect()
}

/// A random orthogonal matrix (QR of a Gaussian, f64, row-major n×n), with a reflection when
/// `reflect`.
pub fn random_orthogonal(n: usize, reflect: bool, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let g = Tensor::randn(&[n, n], DType::F64, &mut r).to_vec_f64();
    let mut q: Vec<Vec<f64>> = (0..n).map(|i| g[i * n..(i + 1) * n].to_vec()).collect();
    for i in 0..n {
        for j in 0..i {
            let d: f64 = (0..n).map(|k| q[i][k] * q[j][k]).sum();
            for k in 0..n {
                q[i][k] -= d * q[j][k];
            }
        }
        let norm = q[i].iter().map(|x| x * x).sum::<f64>().sqrt();
        q[i].iter_mut().for_each(|x| *x /= norm);
    }
    if reflect {
        q[0].iter_mut().for_each(|x| *x = -*x);
    }
    q.concat()
}
