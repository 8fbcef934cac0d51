//! Selection by a constant mask, and comparisons that produce masks.

use super::broadcast_shape;
use super::kernels;
use crate::autodiff::graph::Op;
use ndarray::{ArrayD, Zip};

use crate::data::{Storage, map_data2};
use crate::dtype::Element;
use crate::tensor::Tensor;

/// `mask ? a : b` with a constant (untracked) mask of 0/1 values.
struct Where {
    mask: Tensor,
}

impl Op for Where {
    fn name(&self) -> &'static str {
        "where"
    }
    fn vjp(
        &self,
        inputs: &[Tensor],
        _: &Tensor,
        ct: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let zero = ct.zeros_like();
        vec![
            needs[0].then(|| Tensor::where_cond(&self.mask, ct, &zero).sum_to(inputs[0].shape())),
            needs[1].then(|| Tensor::where_cond(&self.mask, &zero, ct).sum_to(inputs[1].shape())),
        ]
    }
    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let pick = |i: usize| t[i].clone().unwrap_or_else(|| inputs[i].zeros_like());
        Tensor::where_cond(&self.mask, &pick(0), &pick(1)).broadcast_to(out.shape())
    }
}

fn select<T: Element>(mask: &Storage<T>, a: &Storage<T>, b: &Storage<T>) -> ArrayD<T> {
    Zip::from(mask)
        .and(a)
        .and(b)
        .map_collect(|&m, &x, &y| if m != T::zero() { x } else { y })
}

fn compare(a: &Tensor, b: &Tensor, name: &str, test: fn(f64, f64) -> bool) -> Tensor {
    let shape = broadcast_shape(name, a.shape(), b.shape());
    let data = map_data2!(name, a.data(), b.data(), x, y => {
        kernels::binary(x, y, &shape, |p, q| {
            if test(p.to_f64_exact(), q.to_f64_exact()) { Element::from_f64_lossy(1.0) } else { Element::from_f64_lossy(0.0) }
        })
    });
    Tensor::from_data(data)
}

impl Tensor {
    /// `mask ≠ 0 ? on_true : on_false`, element-wise with broadcasting. The mask is treated as
    /// a constant; only the chosen branch receives gradient (no NaN leaks from the other).
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together or dtypes differ.
    pub fn where_cond(mask: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Tensor {
        let shape = broadcast_shape("where", on_true.shape(), on_false.shape());
        let shape = broadcast_shape("where", &shape, mask.shape());
        let mask = mask.detach().broadcast_to(&shape);
        let a = on_true.detach().broadcast_to(&shape);
        let b = on_false.detach().broadcast_to(&shape);
        let m = mask.to_dtype(a.dtype());
        let data = map_data2!("where", a.data(), b.data(), x, y => select(m.array(), x, y));
        Tensor::from_op(data, Where { mask }, &[on_true, on_false])
    }

    /// 1 where `self > other`, else 0 (a constant).
    pub fn gt(&self, other: &Tensor) -> Tensor {
        compare(self, other, "gt", |a, b| a > b)
    }
    /// 1 where `self < other`, else 0 (a constant).
    pub fn lt(&self, other: &Tensor) -> Tensor {
        compare(self, other, "lt", |a, b| a < b)
    }
    /// 1 where `self == other`, else 0 (a constant).
    pub fn eq_mask(&self, other: &Tensor) -> Tensor {
        compare(self, other, "eq", |a, b| a == b)
    }
    /// 1 where `self > c`, else 0 (a constant).
    pub fn gt_scalar(&self, c: f64) -> Tensor {
        self.gt(&self.scalar_like(c))
    }
    /// 1 where `self < c`, else 0 (a constant).
    pub fn lt_scalar(&self, c: f64) -> Tensor {
        self.lt(&self.scalar_like(c))
    }

    /// Element-wise maximum (gradient to the larger; to `self` on ties).
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        Tensor::where_cond(&other.gt(self), other, self)
    }

    /// Element-wise minimum (gradient to the smaller; to `self` on ties).
    pub fn minimum(&self, other: &Tensor) -> Tensor {
        Tensor::where_cond(&other.lt(self), other, self)
    }
}
