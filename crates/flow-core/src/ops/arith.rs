//! Broadcasting arithmetic: add, sub, mul, div, neg, and scalar shorthands.

use super::{accumulate, broadcast_shape, kernels};
use crate::autodiff::graph::Op;
use crate::data::map_data2;
use crate::tensor::Tensor;

#[derive(Clone, Copy)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    fn label(self) -> &'static str {
        match self {
            Arith::Add => "add",
            Arith::Sub => "sub",
            Arith::Mul => "mul",
            Arith::Div => "div",
        }
    }
}

struct Binary(Arith);

impl Op for Binary {
    fn name(&self) -> &'static str {
        self.0.label()
    }

    fn vjp(
        &self,
        inputs: &[Tensor],
        out: &Tensor,
        ct: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let da = needs[0].then(|| match self.0 {
            Arith::Add | Arith::Sub => ct.clone(),
            Arith::Mul => ct.mul(b),
            Arith::Div => ct.div(b),
        });
        let db = needs[1].then(|| match self.0 {
            Arith::Add => ct.clone(),
            Arith::Sub => ct.neg(),
            Arith::Mul => ct.mul(a),
            Arith::Div => ct.mul(out).div(b).neg(),
        });
        vec![
            da.map(|g| g.sum_to(a.shape())),
            db.map(|g| g.sum_to(b.shape())),
        ]
    }

    fn jvp(&self, inputs: &[Tensor], out: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (a, b) = (&inputs[0], &inputs[1]);
        let mut sum = None;
        if let Some(ta) = &t[0] {
            sum = accumulate(
                sum,
                match self.0 {
                    Arith::Add | Arith::Sub => ta.clone(),
                    Arith::Mul => ta.mul(b),
                    Arith::Div => ta.div(b),
                },
            );
        }
        if let Some(tb) = &t[1] {
            sum = accumulate(
                sum,
                match self.0 {
                    Arith::Add => tb.clone(),
                    Arith::Sub => tb.neg(),
                    Arith::Mul => tb.mul(a),
                    // d(a/b) = (da − y db) / b
                    Arith::Div => tb.mul(out).div(b).neg(),
                },
            );
        }
        sum.expect("arith jvp: no tangent")
            .broadcast_to(out.shape())
    }
}

fn binary(a: &Tensor, b: &Tensor, kind: Arith) -> Tensor {
    let name = kind.label();
    let shape = broadcast_shape(name, a.shape(), b.shape());
    let data = map_data2!(name, a.data(), b.data(), x, y => match kind {
        Arith::Add => kernels::binary(x, y, &shape, |p, q| p + q),
        Arith::Sub => kernels::binary(x, y, &shape, |p, q| p - q),
        Arith::Mul => kernels::binary(x, y, &shape, |p, q| p * q),
        Arith::Div => kernels::binary(x, y, &shape, |p, q| p / q),
    });
    Tensor::from_op(data, Binary(kind), &[a, b])
}

struct Neg;

impl Op for Neg {
    fn name(&self) -> &'static str {
        "neg"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.neg())]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref().expect("neg: tangent").neg()
    }
}

impl Tensor {
    /// `self + other` with numpy broadcasting.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together or the dtypes differ.
    pub fn add(&self, other: &Tensor) -> Tensor {
        binary(self, other, Arith::Add)
    }

    /// `self − other` with broadcasting.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        binary(self, other, Arith::Sub)
    }

    /// `self ⊙ other` (element-wise) with broadcasting.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        binary(self, other, Arith::Mul)
    }

    /// `self ⊘ other` (element-wise) with broadcasting.
    pub fn div(&self, other: &Tensor) -> Tensor {
        binary(self, other, Arith::Div)
    }

    /// `−self`.
    pub fn neg(&self) -> Tensor {
        let data = crate::data::map_data!(self.data(), a => a.mapv(|x| -x));
        Tensor::from_op(data, Neg, &[self])
    }

    /// `self + c` for a constant `c`.
    pub fn add_scalar(&self, c: f64) -> Tensor {
        self.add(&self.scalar_like(c))
    }

    /// `self · c` for a constant `c`.
    pub fn mul_scalar(&self, c: f64) -> Tensor {
        self.mul(&self.scalar_like(c))
    }

    /// `self ⊙ self`.
    pub fn square(&self) -> Tensor {
        self.mul(self)
    }
}
