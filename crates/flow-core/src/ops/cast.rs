//! Dtype conversion.

use crate::autodiff::graph::Op;
use crate::dtype::DType;
use crate::tensor::Tensor;

struct Cast {
    from: DType,
    to: DType,
}

impl Op for Cast {
    fn name(&self) -> &'static str {
        "cast"
    }
    fn vjp(&self, _: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![Some(ct.to_dtype(self.from))]
    }
    fn jvp(&self, _: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        t[0].as_ref().expect("cast: tangent").to_dtype(self.to)
    }
}

pub(crate) fn cast(x: &Tensor, to: DType) -> Tensor {
    let op = Cast {
        from: x.dtype(),
        to,
    };
    Tensor::from_op(x.data().to_dtype(to), op, &[x])
}
