//! Reductions and their adjoints: `sum_to` ⟷ `broadcast_to`, sums and means over axes, max.

use ndarray::{Axis, IxDyn};

use super::kernels;
use crate::autodiff::graph::Op;
use crate::data::map_data;
use crate::tensor::Tensor;

/// Sums down to a shape that broadcasts to the input (adjoint of [`BroadcastTo`]).
struct SumTo {
    input: Vec<usize>,
    target: Vec<usize>,
}

impl Op for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.broadcast_to(&self.input))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref().expect("sum_to: tangent").sum_to(&self.target)
    }
}

/// Repeats along new leading axes and axes of size 1 (adjoint of [`SumTo`]).
struct BroadcastTo {
    input: Vec<usize>,
    target: Vec<usize>,
}

impl Op for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.sum_to(&self.input))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref()
            .expect("broadcast_to: tangent")
            .broadcast_to(&self.target)
    }
}

/// Max along one axis, kept as size 1. Ties share the cotangent equally.
struct MaxAxis {
    axis: usize,
}

impl MaxAxis {
    /// Constant weights `1[x = max] / #ties`, broadcast to the input shape.
    fn weights(x: &Tensor, y: &Tensor, axis: usize) -> Tensor {
        let hits = x.eq_mask(&y.broadcast_to(x.shape()));
        let count = hits.sum_axis(axis, true);
        hits.div(&count).detach()
    }
}

impl Op for MaxAxis {
    fn name(&self) -> &'static str {
        "max_axis"
    }
    fn vjp(&self, inputs: &[Tensor], out: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let w = MaxAxis::weights(&inputs[0], out, self.axis);
        vec![Some(ct.broadcast_to(w.shape()).mul(&w))]
    }
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let w = MaxAxis::weights(&inputs[0], out, self.axis);
        t[0].as_ref()
            .expect("max: tangent")
            .mul(&w)
            .sum_axis(self.axis, true)
    }
}

impl Tensor {
    /// Sums over broadcast axes so the result has shape `target` (which must broadcast to
    /// this tensor's shape). The adjoint of [`Tensor::broadcast_to`].
    ///
    /// # Panics
    /// If `target` does not broadcast to this shape.
    pub fn sum_to(&self, target: &[usize]) -> Tensor {
        if self.shape() == target {
            return self.clone();
        }
        kernels::check_broadcastable("sum_to", target, self.shape());
        let data = map_data!(self.data(), a => {
            kernels::sum_to(a, target).into_shape_with_order(IxDyn(target)).expect("sum_to: shape")
        });
        let op = SumTo {
            input: self.shape().to_vec(),
            target: target.to_vec(),
        };
        Tensor::from_op(data, op, &[self])
    }

    /// Broadcasts to `target` (numpy rules), copying values.
    ///
    /// # Panics
    /// If this shape does not broadcast to `target`.
    pub fn broadcast_to(&self, target: &[usize]) -> Tensor {
        if self.shape() == target {
            return self.clone();
        }
        kernels::check_broadcastable("broadcast_to", self.shape(), target);
        let data = map_data!(self.data(), a => kernels::broadcast_to(a, target));
        let op = BroadcastTo {
            input: self.shape().to_vec(),
            target: target.to_vec(),
        };
        Tensor::from_op(data, op, &[self])
    }

    /// Sum over `axis`; `keep_dim` keeps it with size 1.
    ///
    /// # Panics
    /// If the axis does not exist.
    pub fn sum_axis(&self, axis: usize, keep_dim: bool) -> Tensor {
        assert!(
            axis < self.ndim(),
            "sum_axis: axis {axis} out of range for shape {:?}",
            self.shape()
        );
        let mut kept = self.shape().to_vec();
        kept[axis] = 1;
        let s = self.sum_to(&kept);
        if keep_dim { s } else { s.squeeze(axis) }
    }

    /// Sum of all elements, as a 0-dimensional tensor.
    pub fn sum_all(&self) -> Tensor {
        self.sum_to(&[])
    }

    /// Mean over `axis`.
    pub fn mean_axis(&self, axis: usize, keep_dim: bool) -> Tensor {
        let n = self.dim(axis) as f64;
        self.sum_axis(axis, keep_dim).mul_scalar(1.0 / n)
    }

    /// Mean of all elements, as a 0-dimensional tensor.
    pub fn mean_all(&self) -> Tensor {
        self.sum_all().mul_scalar(1.0 / self.len().max(1) as f64)
    }

    /// Maximum over `axis` (ties share the gradient equally).
    ///
    /// # Panics
    /// If the axis does not exist or has size 0.
    pub fn max_axis(&self, axis: usize, keep_dim: bool) -> Tensor {
        assert!(
            axis < self.ndim() && self.dim(axis) > 0,
            "max_axis: axis {axis} invalid for shape {:?}",
            self.shape()
        );
        let last = axis + 1 == self.ndim();
        let mut kept = self.shape().to_vec();
        kept[axis] = 1;
        let data = map_data!(self.data(), a => match a.as_slice() {
            // The last axis of a contiguous block: rows (`ops/row_max.rs`), same bits.
            Some(xs) if last => ndarray::ArrayD::from_shape_vec(
                IxDyn(&kept),
                super::row_max::row_max(xs, self.dim(axis)),
            )
            .expect("max_axis: shape"),
            _ => a
                .fold_axis(Axis(axis), num_traits::Float::neg_infinity(), |&m, &x| {
                    super::row_max::keep_max(m, x)
                })
                .insert_axis(Axis(axis)),
        });
        let m = Tensor::from_op(data, MaxAxis { axis }, &[self]);
        if keep_dim { m } else { m.squeeze(axis) }
    }
}
