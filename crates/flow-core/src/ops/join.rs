//! Concatenation, slicing and zero-padding along one axis (each the adjoint of another).

use super::kernels;

use crate::autodiff::graph::Op;
use crate::data::{Data, Storage, map_data};
use crate::dtype::Element;
use crate::tensor::Tensor;

struct Concat {
    axis: usize,
    sizes: Vec<usize>,
}

impl Op for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, needs: &[bool]) -> Vec<Option<Tensor>> {
        let mut start = 0;
        let mut out = Vec::with_capacity(self.sizes.len());
        for (&size, &need) in self.sizes.iter().zip(needs) {
            out.push(need.then(|| ct.narrow(self.axis, start, size)));
            start += size;
        }
        out
    }
    fn jvp(&self, inputs: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let parts: Vec<Tensor> = inputs
            .iter()
            .zip(t)
            .map(|(x, tx)| tx.clone().unwrap_or_else(|| x.zeros_like()))
            .collect();
        Tensor::concat(&parts.iter().collect::<Vec<_>>(), self.axis)
    }
}

/// `[start, start + len)` along `axis`.
struct Narrow {
    axis: usize,
    start: usize,
    len: usize,
    total: usize,
}

impl Op for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let after = self.total - self.start - self.len;
        vec![Some(ct.pad_zeros(self.axis, self.start, after))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref()
            .expect("narrow: tangent")
            .narrow(self.axis, self.start, self.len)
    }
}

/// Zeros before and after along `axis`.
struct Pad {
    axis: usize,
    before: usize,
    len: usize,
}

impl Op for Pad {
    fn name(&self) -> &'static str {
        "pad_zeros"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.narrow(self.axis, self.before, self.len))]
    }
    fn jvp(&self, _: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let after = out.dim(self.axis) - self.before - self.len;
        t[0].as_ref()
            .expect("pad: tangent")
            .pad_zeros(self.axis, self.before, after)
    }
}

fn concat_typed<T: Element>(parts: &[&Tensor], axis: usize) -> Data {
    let arrays: Vec<&Storage<T>> = parts.iter().map(|t| t.array::<T>()).collect();
    T::wrap(kernels::concat(&arrays, axis))
}

impl Tensor {
    /// Joins tensors along `axis`.
    ///
    /// # Panics
    /// If `parts` is empty, or shapes differ off `axis`, or dtypes differ.
    pub fn concat(parts: &[&Tensor], axis: usize) -> Tensor {
        assert!(!parts.is_empty(), "concat: no tensors");
        let first = parts[0];
        for p in parts {
            let same = p.ndim() == first.ndim()
                && axis < p.ndim()
                && p.dtype() == first.dtype()
                && (0..p.ndim()).all(|i| i == axis || p.dim(i) == first.dim(i));
            assert!(
                same,
                "concat: shape {:?} ({}) does not match {:?} ({}) off axis {axis}",
                p.shape(),
                p.dtype(),
                first.shape(),
                first.dtype()
            );
        }
        let data = match first.dtype() {
            crate::DType::F32 => concat_typed::<f32>(parts, axis),
            crate::DType::F64 => concat_typed::<f64>(parts, axis),
        };
        let sizes = parts.iter().map(|p| p.dim(axis)).collect();
        Tensor::from_op(data, Concat { axis, sizes }, parts)
    }

    /// The slice `[start, start + len)` along `axis`.
    ///
    /// # Panics
    /// If the range exceeds the axis.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Tensor {
        assert!(
            axis < self.ndim() && start + len <= self.dim(axis),
            "narrow: range {start}..{} out of bounds for axis {axis} of {:?}",
            start + len,
            self.shape()
        );
        if start == 0 && len == self.dim(axis) {
            return self.clone();
        }
        let data = map_data!(self.data(), a => kernels::narrow(a, axis, start, len));
        let op = Narrow {
            axis,
            start,
            len,
            total: self.dim(axis),
        };
        Tensor::from_op(data, op, &[self])
    }

    /// Splits along `axis` into pieces of the given sizes.
    ///
    /// # Panics
    /// If the sizes do not add up to the axis length.
    pub fn split(&self, axis: usize, sizes: &[usize]) -> Vec<Tensor> {
        let total: usize = sizes.iter().sum();
        assert_eq!(
            total,
            self.dim(axis),
            "split: sizes {sizes:?} do not add up to axis {axis} of {:?}",
            self.shape()
        );
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.narrow(axis, start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Adds `before` and `after` zeros along `axis`.
    pub fn pad_zeros(&self, axis: usize, before: usize, after: usize) -> Tensor {
        if before == 0 && after == 0 {
            return self.clone();
        }
        let len = self.dim(axis);
        let data = map_data!(self.data(), a => kernels::pad(a, axis, before, after));
        Tensor::from_op(data, Pad { axis, before, len }, &[self])
    }
}
