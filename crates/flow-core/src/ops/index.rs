//! Gathering and scattering rows along an axis (message passing in graph networks).
//! `index_select` and `index_add` are each other's adjoints.

use std::rc::Rc;

use crate::autodiff::graph::Op;
use crate::data::map_data;
use crate::ops::kernels;
use crate::tensor::Tensor;

struct IndexSelect {
    axis: usize,
    indices: Rc<[usize]>,
    size: usize,
}

impl Op for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.index_add_shared(
            self.axis,
            self.indices.clone(),
            self.size,
        ))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let t = t[0].as_ref().expect("index_select: tangent");
        t.index_select_shared(self.axis, self.indices.clone())
    }
}

struct IndexAdd {
    axis: usize,
    indices: Rc<[usize]>,
    size: usize,
}

impl Op for IndexAdd {
    fn name(&self) -> &'static str {
        "index_add"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(
            ct.index_select_shared(self.axis, self.indices.clone()),
        )]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let t = t[0].as_ref().expect("index_add: tangent");
        t.index_add_shared(self.axis, self.indices.clone(), self.size)
    }
}

impl Tensor {
    /// Picks entries `indices` along `axis` (repeats allowed): `out[.., i, ..] = x[.., indices[i], ..]`.
    ///
    /// # Panics
    /// If an index is out of bounds.
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Tensor {
        self.index_select_shared(axis, indices.into())
    }

    fn index_select_shared(&self, axis: usize, indices: Rc<[usize]>) -> Tensor {
        assert!(
            axis < self.ndim(),
            "index_select: axis {axis} out of range for {:?}",
            self.shape()
        );
        let size = self.dim(axis);
        if let Some(bad) = indices.iter().find(|&&i| i >= size) {
            panic!(
                "index_select: index {bad} out of bounds for axis {axis} of {:?}",
                self.shape()
            );
        }
        let data = map_data!(self.data(), a => kernels::gather(a, axis, &indices));
        Tensor::from_op(
            data,
            IndexSelect {
                axis,
                indices,
                size,
            },
            &[self],
        )
    }

    /// Scatter-add: a tensor with `size` entries along `axis`, where entry `indices[i]`
    /// accumulates `self[.., i, ..]` (the adjoint of [`Tensor::index_select`]).
    ///
    /// # Panics
    /// If `indices.len()` differs from the axis length or an index is `≥ size`.
    pub fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Tensor {
        self.index_add_shared(axis, indices.into(), size)
    }

    fn index_add_shared(&self, axis: usize, indices: Rc<[usize]>, size: usize) -> Tensor {
        assert!(
            axis < self.ndim() && indices.len() == self.dim(axis),
            "index_add: {} indices for axis {axis} of {:?}",
            indices.len(),
            self.shape()
        );
        if let Some(bad) = indices.iter().find(|&&i| i >= size) {
            panic!("index_add: index {bad} out of bounds for output size {size}");
        }
        let data = map_data!(self.data(), a => kernels::scatter_add(a, axis, &indices, size));
        Tensor::from_op(
            data,
            IndexAdd {
                axis,
                indices,
                size,
            },
            &[self],
        )
    }
}
