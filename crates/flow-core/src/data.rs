//! Type-erased n-dimensional storage and the dispatch macros that run generic kernels on it.

use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::dtype::{DType, Element};

/// The typed array inside [`Data`]: reference-counted, so that a reshape (and any other op that
/// only relabels the shape of a standard-layout array) shares the buffer instead of copying it.
/// Values a tensor exposes never change: the only in-place writes are to buffers nothing else
/// holds (the backward pass's running cotangent sums, `Tensor::add_assign_unshared`; the sum
/// of shard gradients), and `ndarray`'s copy-on-write would copy a shared buffer first.
pub type Storage<T> = ArcArray<T, IxDyn>;

/// The values of a tensor: a standard-layout `ndarray` of a runtime dtype, with shared storage.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// 32-bit storage.
    F32(Storage<f32>),
    /// 64-bit storage.
    F64(Storage<f64>),
}

/// Runs `$body` with `$a` bound to the typed array inside `$data`, re-wrapping the resulting
/// array in the same dtype.
macro_rules! map_data {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            $crate::data::Data::F32($a) => $crate::data::Data::F32(($body).into_shared()),
            $crate::data::Data::F64($a) => $crate::data::Data::F64(($body).into_shared()),
        }
    };
}

/// Runs `$body` with `$a` bound to the typed array inside `$data`; the body's result is
/// returned as is (it must not depend on the element type).
macro_rules! with_data {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            $crate::data::Data::F32($a) => $body,
            $crate::data::Data::F64($a) => $body,
        }
    };
}

/// Like [`map_data!`] for two operands of the same dtype; panics naming `$op` otherwise.
macro_rules! map_data2 {
    ($op:expr, $x:expr, $y:expr, $a:ident, $b:ident => $body:expr) => {
        match ($x, $y) {
            ($crate::data::Data::F32($a), $crate::data::Data::F32($b)) => {
                $crate::data::Data::F32(($body).into_shared())
            }
            ($crate::data::Data::F64($a), $crate::data::Data::F64($b)) => {
                $crate::data::Data::F64(($body).into_shared())
            }
            (x, y) => panic!("{}: dtype mismatch ({} vs {})", $op, x.dtype(), y.dtype()),
        }
    };
}

pub(crate) use {map_data, map_data2, with_data};

impl Data {
    /// The runtime element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
        }
    }

    /// The shape (batch axis first).
    pub fn shape(&self) -> &[usize] {
        with_data!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_data!(self, a => a.len())
    }

    /// Whether the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An array of `value` with the given shape and dtype.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Data {
        match dtype {
            DType::F32 => Data::F32(ArrayD::from_elem(IxDyn(shape), value as f32).into_shared()),
            DType::F64 => Data::F64(ArrayD::from_elem(IxDyn(shape), value).into_shared()),
        }
    }

    /// Converts to another dtype (a copy; identity if already that dtype).
    pub fn to_dtype(&self, dtype: DType) -> Data {
        match (self, dtype) {
            (Data::F32(a), DType::F64) => Data::F64(a.mapv(|x| x as f64).into_shared()),
            (Data::F64(a), DType::F32) => Data::F32(a.mapv(|x| x as f32).into_shared()),
            _ => self.clone(),
        }
    }

    /// All values converted to `f64`, in row-major order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_data!(self, a => match a.as_slice() {
            Some(xs) => xs.iter().map(|x| x.to_f64_exact()).collect(),
            None => a.iter().map(|x| x.to_f64_exact()).collect(),
        })
    }

    /// Borrows the typed array; panics naming the dtypes if `T` does not match.
    pub fn typed<T: Element>(&self) -> &Storage<T> {
        T::unwrap_ref(self).unwrap_or_else(|| {
            panic!(
                "typed access: tensor holds {} but {} was requested",
                self.dtype(),
                T::DTYPE
            )
        })
    }

    /// The same values in standard (row-major, contiguous) layout: the invariant every
    /// stored tensor keeps, so kernels can use flat slices and reshapes never copy twice.
    pub(crate) fn into_standard_layout(self) -> Data {
        map_data!(self, a => if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned().into_shared() })
    }

    /// Whether every value is finite (no NaN or infinity).
    pub fn all_finite(&self) -> bool {
        with_data!(self, a => match a.as_slice() {
            Some(xs) => xs.iter().all(|x| x.is_finite()),
            None => a.iter().all(|x| x.is_finite()),
        })
    }

    /// `Σ x²` in f64 (gradient-norm clipping).
    pub(crate) fn sum_of_squares(&self) -> f64 {
        with_data!(self, a => match a.as_slice() {
            Some(xs) => xs.iter().map(|x| x.to_f64_exact().powi(2)).sum(),
            None => a.iter().map(|x| x.to_f64_exact().powi(2)).sum(),
        })
    }
}
