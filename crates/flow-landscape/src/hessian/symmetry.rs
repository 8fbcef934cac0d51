//! The trivial null directions of a ReLU MLP's cross-entropy, built explicitly so that they
//! can be projected out before counting flat directions (paper note §3):
//!
//! - **ReLU rescaling** of hidden unit `j` (`relu(cz) = c·relu(z)` for `c > 0`): the orbit
//!   tangent `t = D_j θ` is `+1` on the unit's incoming weights and bias, `−1` on its outgoing
//!   weights. `∇L·t = 0` and `H t = −D_j ∇L` exactly, so `H t → 0` at a critical point.
//! - **Softmax shift** (`softmax(z + c·1) = softmax(z)`): adding the same vector to every
//!   class's output weights (one direction per last hidden unit) or the same constant to every
//!   output bias. `∇L·t = 0` and `H t = 0` exactly.

use flow_core::nn::{Activation, Mlp, Module};

use crate::flat::FlatLayout;
use crate::objective::{dot, norm};

/// The symmetry tangents of a ReLU MLP at its current parameters, in flat coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Symmetries {
    /// One per hidden unit: `D_j θ`.
    pub rescaling: Vec<Vec<f64>>,
    /// `H_last` weight shifts and (with a bias) one bias shift.
    pub softmax: Vec<Vec<f64>>,
}

impl Symmetries {
    /// Builds the tangents for `mlp`, whose parameters `layout` holds (in the same order).
    ///
    /// # Panics
    /// If a layer's parameter is missing from `layout`, or the activation is not positively
    /// homogeneous (ReLU, leaky ReLU, identity), so that the rescaling is no symmetry.
    pub fn of_relu_mlp(mlp: &Mlp, layout: &FlatLayout) -> Symmetries {
        assert!(
            matches!(
                mlp.activation,
                Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity
            ),
            "Symmetries::of_relu_mlp: activation {:?} is not positively homogeneous",
            mlp.activation
        );
        let theta = layout.read();
        let n = layout.len();
        let locate = |p: &flow_core::nn::Param| {
            layout
                .locate(p.name())
                .unwrap_or_else(|| panic!("Symmetries: {} not in the layout", p.name()))
                .0
        };
        let mut rescaling = Vec::new();
        for pair in mlp.layers.windows(2) {
            let (inner, outer) = (&pair[0], &pair[1]);
            let (fan_in, width, fan_out) =
                (inner.input_dim(), inner.output_dim(), outer.output_dim());
            let w_in = locate(&inner.weight);
            let w_out = locate(&outer.weight);
            let b_in = inner.bias.as_ref().map(locate);
            for j in 0..width {
                let mut t = vec![0.0; n];
                for k in 0..fan_in {
                    let i = w_in + j * fan_in + k;
                    t[i] = theta[i];
                }
                if let Some(b) = b_in {
                    t[b + j] = theta[b + j];
                }
                for c in 0..fan_out {
                    let i = w_out + c * width + j;
                    t[i] = -theta[i];
                }
                rescaling.push(t);
            }
        }
        let last = mlp.layers.last().expect("an MLP has a layer");
        let (h, classes) = (last.input_dim(), last.output_dim());
        let w = locate(&last.weight);
        let mut softmax: Vec<Vec<f64>> = (0..h)
            .map(|k| {
                let mut t = vec![0.0; n];
                (0..classes).for_each(|c| t[w + c * h + k] = 1.0);
                t
            })
            .collect();
        if let Some(b) = last.bias.as_ref().map(locate) {
            let mut t = vec![0.0; n];
            (0..classes).for_each(|c| t[b + c] = 1.0);
            softmax.push(t);
        }
        debug_assert_eq!(layout.len(), mlp.num_parameters());
        Symmetries { rescaling, softmax }
    }

    /// All tangents, rescaling first.
    pub fn all(&self) -> Vec<Vec<f64>> {
        self.rescaling
            .iter()
            .chain(&self.softmax)
            .cloned()
            .collect()
    }
}

/// An orthonormal basis of the span of `vectors` (modified Gram–Schmidt, twice; vectors whose
/// remainder is below `1e-10` of their norm are dependent and dropped).
pub fn orthonormal_basis(vectors: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for v in vectors {
        let n0 = norm(v);
        if n0 == 0.0 {
            continue;
        }
        let mut w = v.clone();
        for _ in 0..2 {
            for q in &basis {
                let c = dot(&w, q);
                w.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
            }
        }
        let r = norm(&w);
        if r > 1e-10 * n0 {
            basis.push(w.into_iter().map(|x| x / r).collect());
        }
    }
    basis
}

/// `P v = v − Σ_q (q·v) q` for an orthonormal `basis`: removes the symmetry components.
pub fn project_complement(basis: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    let mut w = v.to_vec();
    for q in basis {
        let c = dot(&w, q);
        w.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
    }
    w
}
