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
    if let (Some(xs), Some((&1, kept))) = (a.as_slice(), target.split_last())
        && n == target.len()
        && a.shape()[..n - 1] == *kept
        && a.shape()[n - 1] > 1
    {
        let sums = xs.chunks_exact(a.shape()[n - 1]).map(lane_sum).collect();
        return ArrayD::from_shape_vec(IxDyn(target), sums)
            .expect("sum_to: shape")
            .into_shared();
    }
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

/// The sum of one contiguous lane in the order of ndarray's `sum_axis` over the fastest axis
/// (its `unrolled_fold`: eight partial sums over whole blocks of eight, folded in pairs
/// `(p₀ + p₄), (p₁ + p₅), …`, then the remainder in order), so that the row-sum fast path of
/// [`sum_to`] keeps the bits of the general path (tested). Inlined per row, `sum_axis(1)` of
/// a [2048, 8] f32 tensor takes 3.7 µs where ndarray's lane-by-lane `Zip` took 6.3 (one
/// thread, the op's overhead included).
#[inline(always)]
fn lane_sum<T: Element>(mut xs: &[T]) -> T {
    let z = T::zero();
    let mut p = [z; 8];
    while let Some((block, rest)) = xs.split_first_chunk::<8>() {
        for (p, &x) in p.iter_mut().zip(block) {
            *p += x;
        }
        xs = rest;
    }
    let mut acc = z;
    for j in 0..4 {
        acc += p[j] + p[j + 4];
    }
    for &x in xs {
        acc += x;
    }
    acc
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
    let run = len * inner;
    let mut out = vec![T::zero(); outer * run];
    if run > 0 {
        for (o, dst) in out.chunks_exact_mut(run).enumerate() {
            copy_run(dst, &src[(o * dim + start) * inner..][..run]);
        }
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = len;
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("narrow: shape")
}

/// `a[.., indices[k], ..]` along `axis` for every `k`, by contiguous runs of the trailing axes.
pub(crate) fn gather<T: Element>(a: &Storage<T>, axis: usize, indices: &[usize]) -> ArrayD<T> {
    let (outer, inner) = around(a.shape(), axis);
    let (dim, src) = (a.shape()[axis], slice_of(a));
    let mut out = vec![T::zero(); outer * indices.len() * inner];
    if inner > 0 {
        let mut runs = out.chunks_exact_mut(inner);
        for o in 0..outer {
            for (&i, dst) in indices.iter().zip(&mut runs) {
                copy_run(dst, &src[(o * dim + i) * inner..][..inner]);
            }
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
    let mut out = vec![T::zero(); total];
    let runs: Vec<(&[T], usize)> = parts
        .iter()
        .map(|p| (slice_of(*p), p.len() / outer.max(1)))
        .collect();
    let width: usize = runs.iter().map(|&(_, run)| run).sum();
    if width > 0 {
        for (o, row) in out.chunks_exact_mut(width).enumerate() {
            let mut at = 0;
            for &(src, run) in &runs {
                copy_run(&mut row[at..at + run], &src[o * run..(o + 1) * run]);
                at += run;
            }
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
    let (run, width) = (dim * inner, (before + dim + after) * inner);
    // Zeros first (one fill), then each outer row's run copied into place: a narrow's
    // cotangent is often a few columns of thousands of rows (the spline parameters of a
    // coupling layer), where three calls per row (fill, copy, fill) cost 0.45 ns per output.
    let mut out = vec![T::zero(); outer * width];
    if run > 0 {
        for (dst, src) in out.chunks_exact_mut(width).zip(src.chunks_exact(run)) {
            copy_run(&mut dst[before * inner..][..run], src);
        }
    }
    let mut shape = a.shape().to_vec();
    shape[axis] = before + dim + after;
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("pad: shape")
}

/// `dst.copy_from_slice(src)`, eight values at a time in registers for short runs (a
/// `memcpy` call per run costs more than the copy when runs are a few values long).
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    if src.len() > 32 {
        dst.copy_from_slice(src);
        return;
    }
    let (mut d, mut s) = (dst.chunks_exact_mut(8), src.chunks_exact(8));
    for (d, s) in (&mut d).zip(&mut s) {
        let v: [T; 8] = s.try_into().expect("copy_run: chunk of 8");
        d.copy_from_slice(&v);
    }
    let (d, s) = (d.into_remainder(), s.remainder());
    if s.len() >= 4 {
        let (v, w): ([T; 4], [T; 4]) = (
            s[..4].try_into().expect("copy_run: 4"),
            s[s.len() - 4..].try_into().expect("copy_run: 4"),
        );
        let n = d.len();
        d[..4].copy_from_slice(&v);
        d[n - 4..].copy_from_slice(&w);
    } else {
        for (d, s) in d.iter_mut().zip(s) {
            *d = *s;
        }
    }
}

/// `a` repeated up to `target` (numpy broadcasting), by contiguous runs ([`super::broadcast`]).
pub(crate) fn broadcast_to<T: Element>(a: &Storage<T>, target: &[usize]) -> ArrayD<T> {
    check_broadcastable("broadcast_to", a.shape(), target);
    let v = super::broadcast::broadcast(slice_of(a), a.shape(), target);
    ArrayD::from_shape_vec(IxDyn(target), v).expect("broadcast_to: shape")
}

#[cfg(test)]
#[path = "kernels_tests.rs"]
mod tests;
