//! A fixed permutation of the features: `z_i = x_{π(i)}`, `log |det| = 0`.
//!
//! References: Dinh et al., "Density estimation using Real NVP", arXiv 1605.08803; Kingma,
//! Dhariwal, "Glow", arXiv 1807.03039 (fixed random shuffles between couplings).

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::bijection::{Bijection, check_input};

/// A fixed permutation (a buffer, not a parameter).
#[derive(Clone, Debug)]
pub struct Permutation {
    perm: Vec<usize>,
    inverse: Vec<usize>,
    prefix: String,
}

impl Permutation {
    /// `z = x[:, perm]`.
    ///
    /// # Panics
    /// If `perm` is not a permutation of `0..perm.len()`.
    pub fn new(prefix: &str, perm: Vec<usize>) -> Permutation {
        let n = perm.len();
        let mut inverse = vec![usize::MAX; n];
        for (i, &p) in perm.iter().enumerate() {
            assert!(
                p < n && inverse[p] == usize::MAX,
                "Permutation: {perm:?} is not a permutation"
            );
            inverse[p] = i;
        }
        Permutation {
            perm,
            inverse,
            prefix: prefix.to_string(),
        }
    }

    /// A uniformly random permutation of `dim` features.
    pub fn random<R: Rng + ?Sized>(prefix: &str, dim: usize, rng: &mut R) -> Permutation {
        let mut perm: Vec<usize> = (0..dim).collect();
        perm.shuffle(rng);
        Permutation::new(prefix, perm)
    }

    /// The reversal `(D−1, …, 0)`.
    pub fn reverse(prefix: &str, dim: usize) -> Permutation {
        Permutation::new(prefix, (0..dim).rev().collect())
    }

    /// The permutation `π` (`z_i = x_{π(i)}`).
    pub fn indices(&self) -> &[usize] {
        &self.perm
    }
}

impl Module for Permutation {
    fn parameters(&self) -> Vec<Param> {
        Vec::new()
    }
}

impl Bijection for Permutation {
    fn name(&self) -> &str {
        "Permutation"
    }

    fn dim(&self) -> usize {
        self.perm.len()
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("Permutation", self.dim(), None, x, cond);
        (
            x.index_select(1, &self.perm),
            Tensor::zeros(&[x.dim(0)], x.dtype()),
        )
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("Permutation", self.dim(), None, z, cond);
        (
            z.index_select(1, &self.inverse),
            Tensor::zeros(&[z.dim(0)], z.dtype()),
        )
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        let v: Vec<f64> = self.perm.iter().map(|&p| p as f64).collect();
        let name = flow_core::nn::join_name(&self.prefix, "perm");
        vec![(
            name,
            Tensor::from_vec(v, &[self.perm.len()]).to_dtype(DType::F64),
        )]
    }
}
