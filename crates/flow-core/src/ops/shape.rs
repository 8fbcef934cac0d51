//! Shape ops: reshape, permute/transpose, (un)squeeze.

use ndarray::IxDyn;

use crate::autodiff::graph::Op;
use crate::data::map_data;
use crate::tensor::Tensor;

struct Reshape {
    from: Vec<usize>,
    to: Vec<usize>,
}

impl Op for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.reshape(&self.from))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref().expect("reshape: tangent").reshape(&self.to)
    }
}

struct Permute {
    perm: Vec<usize>,
}

impl Permute {
    fn inverse(&self) -> Vec<usize> {
        let mut inv = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inv[p] = i;
        }
        inv
    }
}

impl Op for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.permute(&self.inverse()))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref().expect("permute: tangent").permute(&self.perm)
    }
}

impl Tensor {
    /// The same values in a new shape (row-major order).
    ///
    /// # Panics
    /// If the element counts differ.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        let n: usize = shape.iter().product();
        assert_eq!(
            n,
            self.len(),
            "reshape: cannot reshape {:?} into {shape:?}",
            self.shape()
        );
        let data = map_data!(self.data(), a => a.clone().into_shape_with_order(IxDyn(shape)).expect("reshape"));
        let op = Reshape {
            from: self.shape().to_vec(),
            to: shape.to_vec(),
        };
        Tensor::from_op(data, op, &[self])
    }

    /// Reorders axes: output axis `i` is input axis `perm[i]`.
    ///
    /// # Panics
    /// If `perm` is not a permutation of the axes.
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        let mut seen = vec![false; self.ndim()];
        let valid = perm.len() == self.ndim()
            && perm
                .iter()
                .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
        assert!(
            valid,
            "permute: {perm:?} is not a permutation of the axes of {:?}",
            self.shape()
        );
        let data = map_data!(self.data(), a => a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned());
        Tensor::from_op(
            data,
            Permute {
                perm: perm.to_vec(),
            },
            &[self],
        )
    }

    /// Swaps two axes.
    pub fn transpose(&self, axis_a: usize, axis_b: usize) -> Tensor {
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(axis_a, axis_b);
        self.permute(&perm)
    }

    /// Swaps the last two axes (matrix transpose).
    ///
    /// # Panics
    /// If the tensor has fewer than two axes.
    pub fn t(&self) -> Tensor {
        let n = self.ndim();
        assert!(n >= 2, "t: need at least 2 axes, got {:?}", self.shape());
        self.transpose(n - 2, n - 1)
    }

    /// Inserts an axis of size 1 at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Tensor {
        assert!(
            axis <= self.ndim(),
            "unsqueeze: axis {axis} out of range for {:?}",
            self.shape()
        );
        let mut s = self.shape().to_vec();
        s.insert(axis, 1);
        self.reshape(&s)
    }

    /// Removes an axis of size 1.
    ///
    /// # Panics
    /// If the axis does not exist or its size is not 1.
    pub fn squeeze(&self, axis: usize) -> Tensor {
        assert!(
            axis < self.ndim() && self.dim(axis) == 1,
            "squeeze: axis {axis} of shape {:?} is not of size 1",
            self.shape()
        );
        let mut s = self.shape().to_vec();
        s.remove(axis);
        self.reshape(&s)
    }

    /// Flattens all axes after the first: `[b, ...] → [b, prod(...)]`.
    pub fn flatten_batch(&self) -> Tensor {
        let b = self.dim(0);
        self.reshape(&[b, self.len() / b.max(1)])
    }
}
