//! The [`Tensor`] handle: immutable values on a define-by-run tape, with an optional tangent.

use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use std::fmt;
use std::rc::Rc;

use crate::autodiff::graph::{GradFn, Node};
use crate::data::{Data, map_data, with_data};
use crate::dtype::{DType, Element};

/// An n-dimensional array of `f32` or `f64` (batch axis first) that records the operations
/// applied to it so that gradients (reverse mode) and tangents (forward mode) can be computed.
///
/// A `Tensor` is a cheap handle (`Clone` copies two pointers). Values never change after
/// creation; optimisers produce new tensors (see [`Param`](crate::nn::Param)).
///
/// Forward mode: a handle may carry a *tangent* (see [`make_dual`](crate::make_dual)); every op
/// applied to it also evaluates its JVP rule, written with differentiable ops, so tangents can
/// themselves be differentiated in a later reverse pass.
///
/// ```
/// use flow_core::{Tensor, grad};
/// let x = Tensor::from_slice(&[1.0f64, 2.0, 3.0], &[3]).requires_grad();
/// let y = x.mul(&x).sum_all(); // y = Σ x²
/// let g = grad(&y, &[&x]).remove(0);
/// assert_eq!(g.to_vec_f64(), vec![2.0, 4.0, 6.0]);
/// ```
#[derive(Clone)]
pub struct Tensor {
    pub(crate) node: Rc<Node>,
    pub(crate) tangent: Option<Rc<Tensor>>,
}

impl Tensor {
    /// Wraps storage as a new leaf that does not require gradients.
    pub fn from_data(data: Data) -> Tensor {
        Tensor::leaf(Rc::new(data.into_standard_layout()), false)
    }

    pub(crate) fn leaf(data: Rc<Data>, requires_grad: bool) -> Tensor {
        Tensor {
            node: Rc::new(Node::new(data, requires_grad, None)),
            tangent: None,
        }
    }

    pub(crate) fn with_grad_fn(data: Data, grad_fn: Option<GradFn>) -> Tensor {
        let requires_grad = grad_fn.is_some();
        Tensor {
            node: Rc::new(Node::new(
                Rc::new(data.into_standard_layout()),
                requires_grad,
                grad_fn,
            )),
            tangent: None,
        }
    }

    /// A leaf from an `ndarray` array.
    pub fn from_array<T: Element>(array: ArrayD<T>) -> Tensor {
        Tensor::from_data(T::wrap(array))
    }

    /// A leaf from row-major values and a shape.
    ///
    /// # Panics
    /// If `values.len()` differs from the product of `shape`.
    pub fn from_vec<T: Element>(values: Vec<T>, shape: &[usize]) -> Tensor {
        let n = values.len();
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).unwrap_or_else(|_| {
            panic!("from_vec: {n} values do not fill shape {shape:?}");
        });
        Tensor::from_array(array)
    }

    /// A leaf from a slice of values and a shape (see [`Tensor::from_vec`]).
    pub fn from_slice<T: Element>(values: &[T], shape: &[usize]) -> Tensor {
        Tensor::from_vec(values.to_vec(), shape)
    }

    /// A tensor of `value` everywhere.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        Tensor::from_data(Data::full(shape, value, dtype))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 0.0, dtype)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }

    /// A 0-dimensional tensor.
    pub fn scalar(value: f64, dtype: DType) -> Tensor {
        Tensor::full(&[], value, dtype)
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize, dtype: DType) -> Tensor {
        let mut values = vec![0.0; n * n];
        for i in 0..n {
            values[i * n + i] = 1.0;
        }
        Tensor::from_vec(values, &[n, n]).to_dtype(dtype)
    }

    /// Standard normal samples drawn from `rng`.
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], dtype: DType, rng: &mut R) -> Tensor {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
        Tensor::from_vec(values, shape).to_dtype(dtype)
    }

    /// Uniform samples on `[low, high)` drawn from `rng`.
    ///
    /// # Panics
    /// If `low >= high` or either bound is not finite.
    pub fn rand_uniform<R: Rng + ?Sized>(
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
        rng: &mut R,
    ) -> Tensor {
        let dist = Uniform::new(low, high)
            .unwrap_or_else(|e| panic!("rand_uniform: bad range [{low}, {high}): {e}"));
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| dist.sample(rng)).collect();
        Tensor::from_vec(values, shape).to_dtype(dtype)
    }

    /// A tensor of zeros with this tensor's shape and dtype.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape(), self.dtype())
    }

    /// A tensor of ones with this tensor's shape and dtype.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape(), self.dtype())
    }

    /// A scalar constant of this tensor's dtype.
    pub fn scalar_like(&self, value: f64) -> Tensor {
        Tensor::scalar(value, self.dtype())
    }

    /// The stored values.
    pub fn data(&self) -> &Data {
        &self.node.data
    }

    /// The typed `ndarray` view of the values.
    ///
    /// # Panics
    /// If `T` is not this tensor's dtype.
    pub fn array<T: Element>(&self) -> &crate::data::Storage<T> {
        self.data().typed::<T>()
    }

    /// The shape, batch axis first.
    pub fn shape(&self) -> &[usize] {
        self.data().shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data().len()
    }

    /// Whether the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size of axis `axis`.
    ///
    /// # Panics
    /// If the axis does not exist.
    pub fn dim(&self, axis: usize) -> usize {
        *self
            .shape()
            .get(axis)
            .unwrap_or_else(|| panic!("dim: axis {axis} out of range for shape {:?}", self.shape()))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data().dtype()
    }

    /// All values as `f64`, row-major.
    pub fn to_vec_f64(&self) -> Vec<f64> {
        self.data().to_f64_vec()
    }

    /// All values as `f32`, row-major.
    pub fn to_vec_f32(&self) -> Vec<f32> {
        self.to_vec_f64().into_iter().map(|x| x as f32).collect()
    }

    /// The single value of a one-element tensor as `f64`.
    ///
    /// # Panics
    /// If the tensor does not hold exactly one element.
    pub fn item(&self) -> f64 {
        assert_eq!(
            self.len(),
            1,
            "item: tensor of shape {:?} is not a scalar",
            self.shape()
        );
        self.to_vec_f64()[0]
    }

    /// Whether every value is finite.
    pub fn all_finite(&self) -> bool {
        self.data().all_finite()
    }

    /// Whether operations on this tensor are recorded for reverse mode.
    pub fn is_tracked(&self) -> bool {
        self.node.requires_grad
    }

    /// A new leaf with the same values that records operations (a differentiable input).
    pub fn requires_grad(&self) -> Tensor {
        Tensor::leaf(self.node.data.clone(), true)
    }

    /// A leaf with the same values, cut from the tape and without tangent: no cotangent and
    /// no tangent flows through it (`stop_gradient` of JAX, `detach` of PyTorch). Shares storage.
    pub fn detach(&self) -> Tensor {
        Tensor::leaf(self.node.data.clone(), false)
    }

    /// Same as [`Tensor::detach`]; the name used in the papers' formulas.
    pub fn stop_gradient(&self) -> Tensor {
        self.detach()
    }

    /// The tangent carried by this handle (forward mode), if any.
    pub fn tangent(&self) -> Option<Tensor> {
        self.tangent.as_deref().cloned()
    }

    /// The same tensor without its tangent (same tape node, so gradients still reach it).
    pub fn primal(&self) -> Tensor {
        Tensor {
            node: self.node.clone(),
            tangent: None,
        }
    }

    /// Converts to another dtype (a differentiable op when the dtype changes).
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            self.clone()
        } else {
            crate::ops::cast::cast(self, dtype)
        }
    }

    /// Applies `f` element-wise to the values, producing an untracked tensor (no gradient).
    pub fn map_values(&self, f: impl Fn(f64) -> f64) -> Tensor {
        let data =
            map_data!(self.data(), a => a.mapv(|x| Element::from_f64_lossy(f(x.to_f64_exact()))));
        Tensor::from_data(data)
    }

    /// Unique id of the tape node (equal for handles that share a node).
    pub fn id(&self) -> u64 {
        self.node.id
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor[{:?}, {}]", self.shape(), self.dtype())?;
        if self.is_tracked() {
            write!(f, " (tracked)")?;
        }
        if self.tangent.is_some() {
            write!(f, " (dual)")?;
        }
        with_data!(self.data(), a => if a.len() <= 64 { write!(f, " {a}") } else { Ok(()) })
    }
}
