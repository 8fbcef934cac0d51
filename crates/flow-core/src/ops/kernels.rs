//! Generic array kernels shared by the ops (no autodiff here).

use ndarray::{ArrayD, Axis, IxDyn};

use crate::data::Storage;
use crate::dtype::Element;
use crate::parallel;

/// Element counts from which element-wise kernels and sums run on [`parallel`] chunks
/// (measured: `BENCHMARKS.md`, "flow-core parallel kernels"), and the fixed chunk size.
/// Sums at or above the threshold are chunked whatever the thread count, so they stay
/// bit-identical between 1 and N threads.
pub(crate) const PARALLEL_MIN_LEN: usize = 1 << 20;
const PARALLEL_CHUNK: usize = 1 << 15;

/// `f(a, b)` element-wise with numpy broadcasting ([`super::broadcast`]), with an early exit
/// for equal shapes.
pub(crate) fn binary<T: Element>(
    a: &Storage<T>,
    b: &Storage<T>,
    shape: &[usize],
    f: impl Fn(T, T) -> T + Sync,
) -> ArrayD<T> {
    if a.shape() == shape
        && b.shape() == shape
        && let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice())
    {
        if xs.len() >= PARALLEL_MIN_LEN {
            let v = parallel::zip_map(xs, ys, PARALLEL_CHUNK, f);
            return ArrayD::from_shape_vec(IxDyn(shape), v).expect("binary: shape");
        }
        // Activation-sized operands (2^15 ≤ n < 2^20) go to the compute team, where a
        // hand-off costs ~1 µs instead of a rayon wake-up (element-wise: the cut cannot
        // change a result).
        let v: Vec<T> = crate::fastmath::simd::map2(xs, ys, f);
        return ArrayD::from_shape_vec(IxDyn(shape), v).expect("binary: shape");
    }
    // Everything else (scalars, bias rows, all-pairs sums) is one broadcast loop nest.
    check_broadcastable("binary", a.shape(), shape);
    check_broadcastable("binary", b.shape(), shape);
    let v = super::broadcast::binary(slice_of(a), a.shape(), slice_of(b), b.shape(), shape, f);
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("binary: shape")
}

/// `Some(inner)` when `small`, leading 1s ignored, equals a suffix of `shape`: then `shape`
/// is `small`'s block of `inner` contiguous elements repeated, and summing from `shape` down
/// to `small` works on whole rows.
fn trailing_block(small: &[usize], shape: &[usize]) -> Option<usize> {
    let core: &[usize] = {
        let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
        &small[first..]
    };
    (core.len() <= shape.len() && shape.ends_with(core)).then(|| core.iter().product())
}

/// Sums `a` down to `target` (the reverse of broadcasting `target` up to `a`'s shape).
/// Fast path: a target that is a trailing block of `a` (a bias gradient) is a sum of
/// contiguous rows.
pub(crate) fn sum_to<T: Element>(a: &Storage<T>, target: &[usize]) -> Storage<T> {
    if let (Some(inner), Some(xs)) = (trailing_block(target, a.shape()), a.as_slice())
        && inner > 0
        && inner < xs.len()
    {
        if xs.len() >= PARALLEL_MIN_LEN {
            let rows = (PARALLEL_CHUNK / inner).max(1);
            let acc = parallel::sum_rows(xs, inner, rows);
            return ArrayD::from_shape_vec(IxDyn(target), acc)
                .expect("sum_to: shape")
                .into_shared();
        }
        let acc = super::column_sums::sum_rows_by_columns(xs, inner);
        return ArrayD::from_shape_vec(IxDyn(target), acc)
            .expect("sum_to: shape")
            .into_shared();
    }
    let n = a.ndim();
    let lead = n - target.len();
    // Sum kept axes of size 1 first (indices stay valid), then drop leading axes.
    let mut out: Option<ArrayD<T>> = None;
    for i in (lead..n).rev() {
        if target[i - lead] == 1 && a.shape()[i] != 1 {
            let src = out.as_ref().map_or_else(|| a.view(), |o| o.view());
            out = Some(src.sum_axis(Axis(i)).insert_axis(Axis(i)));
        }
    }
    for _ in 0..lead {
        let src = out.as_ref().map_or_else(|| a.view(), |o| o.view());
        out = Some(src.sum_axis(Axis(0)));
    }
    out.map_or_else(|| a.clone(), ArrayD::into_shared)
}

/// Checks that `from` broadcasts to `to` and panics naming `op` otherwise.
pub(crate) fn check_broadcastable(op: &str, from: &[usize], to: &[usize]) {
    let ok = from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1);
    assert!(ok, "{op}: shape {from:?} cannot be broadcast to {to:?}");
}

/// `(outer, inner)` element counts around `axis` of a row-major `shape`.
fn around(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

fn slice_of<T: Element>(a: &Storage<T>) -> &[T] {
    a.as_slice().expect("stored tensors are in standard layout")
}

/// `a[.., start..start+len, ..]` along `axis`, copying contiguous runs (no per-element
/// index arithmetic: this is the hot path of coupling layers).
pub(crate) fn narrow<T: Element>(
    a: &Storage<T>,
    axis: usize,
    start: usize,
    len: usize,
) -> ArrayD<T> {
    let (outer, inner) = around(a.shape(), axis);
    let (dim, src) = (a.shape()[axis], slice_of(a));
    let mut out = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        let base = (o * dim + start) * inner;
        out.extend_from_slice(&src[base..base + len * inner]);
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = len;
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("narrow: shape")
}

/// `a[.., indices[k], ..]` along `axis` for every `k`, by contiguous runs of the trailing axes.
pub(crate) fn gather<T: Element>(a: &Storage<T>, axis: usize, indices: &[usize]) -> ArrayD<T> {
    let (outer, inner) = around(a.shape(), axis);
    let (dim, src) = (a.shape()[axis], slice_of(a));
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            let base = (o * dim + i) * inner;
            out.extend_from_slice(&src[base..base + inner]);
        }
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = indices.len();
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("gather: shape")
}

/// Scatter-add along `axis` into `size` entries: entry `indices[k]` accumulates
/// `a[.., k, ..]` (the adjoint of [`gather`]).
pub(crate) fn scatter_add<T: Element>(
    a: &Storage<T>,
    axis: usize,
    indices: &[usize],
    size: usize,
) -> ArrayD<T> {
    let (outer, inner) = around(a.shape(), axis);
    let src = slice_of(a);
    let mut out = vec![T::zero(); outer * size * inner];
    for o in 0..outer {
        for (k, &i) in indices.iter().enumerate() {
            let from = &src[(o * indices.len() + k) * inner..][..inner];
            let to = &mut out[(o * size + i) * inner..][..inner];
            to.iter_mut().zip(from).for_each(|(t, &f)| *t += f);
        }
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = size;
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("scatter_add: shape")
}

/// Joins arrays along `axis` by contiguous runs.
pub(crate) fn concat<T: Element>(parts: &[&Storage<T>], axis: usize) -> ArrayD<T> {
    let mut shape = parts[0].shape().to_vec();
    shape[axis] = parts.iter().map(|p| p.shape()[axis]).sum();
    let (outer, _) = around(&shape, axis);
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let runs: Vec<(&[T], usize)> = parts
        .iter()
        .map(|p| (slice_of(*p), p.len() / outer.max(1)))
        .collect();
    for o in 0..outer {
        for &(src, run) in &runs {
            out.extend_from_slice(&src[o * run..(o + 1) * run]);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("concat: shape")
}

/// Zero-pads along `axis` with `before` and `after` entries.
pub(crate) fn pad<T: Element>(
    a: &Storage<T>,
    axis: usize,
    before: usize,
    after: usize,
) -> ArrayD<T> {
    let (outer, inner) = around(a.shape(), axis);
    let (dim, src) = (a.shape()[axis], slice_of(a));
    let mut out = Vec::with_capacity(outer * (before + dim + after) * inner);
    for o in 0..outer {
        out.resize(out.len() + before * inner, T::zero());
        out.extend_from_slice(&src[o * dim * inner..(o + 1) * dim * inner]);
        out.resize(out.len() + after * inner, T::zero());
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = before + dim + after;
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("pad: shape")
}

/// `a` repeated up to `target` (numpy broadcasting), by contiguous runs ([`super::broadcast`]).
pub(crate) fn broadcast_to<T: Element>(a: &Storage<T>, target: &[usize]) -> ArrayD<T> {
    check_broadcastable("broadcast_to", a.shape(), target);
    let v = super::broadcast::broadcast(slice_of(a), a.shape(), target);
    ArrayD::from_shape_vec(IxDyn(target), v).expect("broadcast_to: shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contiguous-row fast paths agree with ndarray's general broadcasting and axis sums.
    #[test]
    fn fast_sum_to_and_broadcast_to_match_the_general_path() {
        let a = ArrayD::from_shape_vec(
            IxDyn(&[2, 3, 4]),
            (0..24).map(|v| f64::from(v) * 0.37 - 2.0).collect(),
        )
        .expect("shape");
        for target in [&[4][..], &[1, 4], &[3, 4], &[1, 3, 4], &[1, 1, 1], &[]] {
            let mut general = a.clone();
            let lead = a.ndim() - target.len();
            for i in (lead..a.ndim()).rev() {
                if target[i - lead] == 1 {
                    general = general.sum_axis(Axis(i)).insert_axis(Axis(i));
                }
            }
            for _ in 0..lead {
                general = general.sum_axis(Axis(0));
            }
            let fast = sum_to(&a.clone().into_shared(), target);
            assert_eq!(fast.shape(), target);
            let err = fast
                .iter()
                .zip(&general)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(err < 1e-12, "sum_to {target:?}: {err}");
            let back = broadcast_to(&fast, a.shape());
            let want = fast.broadcast(IxDyn(a.shape())).expect("bc").to_owned();
            assert_eq!(back, want, "broadcast_to from {target:?}");
        }
    }
    /// Gather and scatter-add along a middle axis agree with ndarray's `select` and a naive
    /// loop, with repeated and missing indices.
    #[test]
    fn gather_and_scatter_add_match_naive_loops() {
        let a = ArrayD::from_shape_vec(
            IxDyn(&[2, 3, 4]),
            (0..24).map(|v| f64::from(v) * 0.5 - 3.0).collect(),
        )
        .expect("shape")
        .into_shared();
        let indices = [2, 0, 2, 1, 2];
        let got = gather(&a, 1, &indices);
        assert_eq!(got, a.select(Axis(1), &indices));
        let picked = got.into_shared();
        let summed = scatter_add(&picked, 1, &indices, 4);
        for o in 0..2 {
            for j in 0..4 {
                for t in 0..4 {
                    let want: f64 = indices
                        .iter()
                        .enumerate()
                        .filter(|&(_, &i)| i == j)
                        .map(|(k, _)| picked[[o, k, t]])
                        .sum();
                    assert_eq!(summed[[o, j, t]], want, "[{o}, {j}, {t}]");
                }
            }
        }
    }
}
