//! The workspace's one thread setting, and deterministic data-parallel helpers on rayon.
//!
//! # How many threads
//! [`threads`] resolves, in this order of precedence:
//! 1. an explicit [`set_threads`]`(n)` (the `flows --threads N` option calls it);
//! 2. the environment variable [`ENV_VAR`] (`FLOWS_THREADS=N`);
//! 3. the available cores (`std::thread::available_parallelism`).
//!
//! The last two are read once, at the first call, and kept: every op of a step asks
//! [`threads`], and on Linux `available_parallelism` reads the cgroup's CPU quota from
//! `/sys` each time (with an environment lookup before it, ~10 µs a call). Resolved per call
//! they made a free-form training step 1.25× slower when `FLOWS_THREADS` was unset
//! (BENCHMARKS.md, session 10). Change the count at run time with [`set_threads`].
//!
//! Parallel work runs on a rayon pool of exactly that size (one pool per size, built on first
//! use; never rayon's global pool, so other libraries' rayon use is not affected). Inside
//! [`with_threads`]`(n, ..)` the helpers use `n` instead.
//!
//! # Nested parallelism and GEMM
//! A chunk body of [`map_chunks`] (and the helpers built on it) runs inside a *parallel
//! region* ([`in_parallel_region`]); a helper called from inside one runs its chunks serially,
//! so nesting never multiplies the thread count. [`gemm_threads`] is the thread count a matrix
//! product may use: 1 inside a parallel region, else [`threads`]; flow-core's GEMM
//! (`ops/gemm.rs`, faer) asks it per call and runs on the same pools.
//!
//! # The hot path: the compute team
//! A training step's fine-grained work (the row blocks of one GEMM, element-wise maps over
//! activations, Adam's update) does not go through rayon: `parallel/team.rs` keeps persistent
//! helpers spinning for a short while after each job, because waking rayon's sleeping workers
//! between the products of a step cost more than the products gained (`BENCHMARKS.md`,
//! session 7). [`with_thread_budget`] caps what both use on one thread.
//!
//! # Determinism
//! Work is cut into chunks of a size the *caller* fixes ([`chunk_ranges`]), never derived
//! from the thread count; chunk results are combined in chunk order, and chunk `k` draws its
//! random numbers from [`chunk_rng`]`(seed, k)`. So results are bit-identical for any thread
//! count, including 1 (which runs the same chunks in a plain loop).
//!
//! ```
//! use flow_core::parallel::{map_chunks, sum_f64, with_threads};
//! let xs: Vec<f64> = (0..10_000).map(|i| (i as f64).sin()).collect();
//! let one = with_threads(1, || sum_f64(&xs, 1024));
//! let two = with_threads(2, || sum_f64(&xs, 1024));
//! assert_eq!(one.to_bits(), two.to_bits());
//! let lens = map_chunks(10, 4, |_, r| r.len());
//! assert_eq!(lens, vec![4, 4, 2]);
//! ```

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// The environment variable read when [`set_threads`] was not called: `FLOWS_THREADS=N`.
pub const ENV_VAR: &str = "FLOWS_THREADS";

/// 0 = not set explicitly.
static EXPLICIT: AtomicUsize = AtomicUsize::new(0);

/// Pools built so far, by size.
static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());

thread_local! {
    static IN_REGION: Cell<bool> = const { Cell::new(false) };
    /// This thread's cap on [`threads`] (0 = none), set by [`with_thread_budget`].
    static BUDGET: Cell<usize> = const { Cell::new(0) };
}

/// Where [`threads`] took its value from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadSource {
    /// [`set_threads`].
    Explicit,
    /// The [`ENV_VAR`] environment variable.
    Environment,
    /// The available cores.
    Cores,
}

/// Sets the workspace-wide thread count (`n ≥ 1`); `0` clears it, so [`ENV_VAR`] or the
/// core count apply again.
pub fn set_threads(n: usize) {
    EXPLICIT.store(n, Ordering::SeqCst);
}

/// The thread count and where it came from (see the module docs for the precedence).
/// An unparsable or zero [`ENV_VAR`] is ignored. The environment and the core count are
/// read at the first call only.
pub fn thread_setting() -> (usize, ThreadSource) {
    let explicit = EXPLICIT.load(Ordering::Relaxed);
    if explicit > 0 {
        return (explicit, ThreadSource::Explicit);
    }
    static DEFAULT: OnceLock<(usize, ThreadSource)> = OnceLock::new();
    *DEFAULT.get_or_init(default_setting)
}

/// [`ENV_VAR`] when it holds a positive integer, else the available cores.
fn default_setting() -> (usize, ThreadSource) {
    let env = std::env::var(ENV_VAR).ok();
    if let Some(n) = env.and_then(|s| s.trim().parse::<usize>().ok())
        && n > 0
    {
        return (n, ThreadSource::Environment);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores, ThreadSource::Cores)
}

/// The thread count parallel helpers use here: the pool's size on a pool thread (inside
/// [`with_threads`]), else [`thread_setting`]'s, capped by this thread's
/// [`with_thread_budget`].
pub fn threads() -> usize {
    match rayon::current_thread_index() {
        Some(_) => rayon::current_num_threads(),
        None => match BUDGET.with(Cell::get) {
            0 => thread_setting().0,
            budget => budget.min(thread_setting().0),
        },
    }
}

/// Runs `f` on the calling thread with [`threads`] (so the helpers, the GEMM and the compute
/// team) capped at `n ≥ 1`: how a caller that runs several jobs side by side (the `flows`
/// runner) keeps their threads within the one setting instead of multiplying it. Budgets
/// nest: the inner one can only lower the cap.
///
/// ```
/// use flow_core::parallel::{set_threads, threads, with_thread_budget};
/// set_threads(4);
/// assert_eq!(with_thread_budget(2, threads), 2);
/// assert_eq!(with_thread_budget(8, threads), 4);
/// set_threads(0);
/// ```
///
/// # Panics
/// If `n == 0`.
pub fn with_thread_budget<R>(n: usize, f: impl FnOnce() -> R) -> R {
    assert!(n > 0, "with_thread_budget: need at least one thread");
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0;
            BUDGET.with(|b| b.set(previous));
        }
    }
    let _restore = Restore(BUDGET.with(|b| {
        let outer = b.get();
        b.replace(if outer == 0 { n } else { outer.min(n) })
    }));
    f()
}

/// Whether the calling thread is running a chunk of a parallel helper. Code that could
/// parallelise internally (a GEMM) should stay single-threaded here.
pub fn in_parallel_region() -> bool {
    IN_REGION.with(Cell::get)
}

/// The threads a matrix product may use: 1 inside a parallel region, else [`threads`].
pub fn gemm_threads() -> usize {
    if in_parallel_region() { 1 } else { threads() }
}

/// The pool of `n` threads (built once per size).
fn pool(n: usize) -> Arc<rayon::ThreadPool> {
    let mut pools = POOLS.lock().expect("parallel: pool registry poisoned");
    if let Some((_, p)) = pools.iter().find(|(size, _)| *size == n) {
        return p.clone();
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(move |i| format!("flows-{n}-{i}"))
        .build()
        .map(Arc::new)
        .unwrap_or_else(|e| panic!("parallel: cannot build a pool of {n} threads: {e}"));
    pools.push((n, p.clone()));
    p
}

/// Runs `f` with the parallel helpers using `n` threads (`n ≥ 1`), whatever the setting.
///
/// # Panics
/// If `n == 0`.
pub fn with_threads<R: Send>(n: usize, f: impl FnOnce() -> R + Send) -> R {
    assert!(n > 0, "with_threads: need at least one thread");
    pool(n).install(f)
}

/// `[0, n)` cut into consecutive ranges of `chunk` (the last may be shorter).
///
/// # Panics
/// If `chunk == 0`.
pub fn chunk_ranges(n: usize, chunk: usize) -> impl Iterator<Item = Range<usize>> {
    assert!(chunk > 0, "chunk_ranges: chunk size must be positive");
    (0..n.div_ceil(chunk)).map(move |k| k * chunk..((k + 1) * chunk).min(n))
}

/// An independent random stream for chunk `chunk` of a computation seeded with `seed`
/// (a SplitMix64 mix of both, so neighbouring seeds and chunks do not overlap).
pub fn chunk_rng(seed: u64, chunk: usize) -> Xoshiro256PlusPlus {
    let mut z = seed
        ^ (chunk as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// Marks the calling thread as inside a parallel region until dropped.
struct RegionGuard(bool);

impl RegionGuard {
    fn enter() -> RegionGuard {
        RegionGuard(IN_REGION.with(|c| c.replace(true)))
    }
}

impl Drop for RegionGuard {
    fn drop(&mut self) {
        let previous = self.0;
        IN_REGION.with(|c| c.set(previous));
    }
}

/// `f(k, range_k)` for every chunk `k` of [`chunk_ranges`]`(n, chunk)`, in chunk order, on
/// [`threads`] threads (serially with one thread, or when called inside a parallel region).
///
/// `f` must not depend on which thread runs it; give it randomness through [`chunk_rng`].
pub fn map_chunks<T: Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, Range<usize>) -> T + Sync,
) -> Vec<T> {
    let ranges: Vec<Range<usize>> = chunk_ranges(n, chunk).collect();
    let body = |(k, r): (usize, Range<usize>)| {
        let _guard = RegionGuard::enter();
        f(k, r)
    };
    let t = threads();
    if t <= 1 || ranges.len() <= 1 || in_parallel_region() {
        return ranges.into_iter().enumerate().map(body).collect();
    }
    let run = || ranges.into_par_iter().enumerate().map(body).collect();
    if rayon::current_thread_index().is_some() {
        run()
    } else {
        pool(t).install(run)
    }
}

/// Runs `f(start, block)` on consecutive blocks of `out` of `chunk` elements (`start` is the
/// block's offset), on [`threads`] threads, with the same serial fallbacks as [`map_chunks`].
pub fn fill_chunks<U: Send>(out: &mut [U], chunk: usize, f: impl Fn(usize, &mut [U]) + Sync) {
    assert!(chunk > 0, "fill_chunks: chunk size must be positive");
    let body = |(k, block): (usize, &mut [U])| {
        let _guard = RegionGuard::enter();
        f(k * chunk, block)
    };
    let t = threads();
    if t <= 1 || out.len() <= chunk || in_parallel_region() {
        out.chunks_mut(chunk).enumerate().for_each(body);
        return;
    }
    let mut run = move || out.par_chunks_mut(chunk).enumerate().for_each(body);
    if rayon::current_thread_index().is_some() {
        run()
    } else {
        pool(t).install(run)
    }
}

/// `f` applied element-wise to `xs`, in chunks of `chunk`, on [`threads`] threads.
pub fn map_slice<T, U>(xs: &[T], chunk: usize, f: impl Fn(T) -> U + Sync) -> Vec<U>
where
    T: Copy + Sync,
    U: Copy + Send,
{
    collect_chunks(xs.len(), chunk, |start, block| {
        let src = &xs[start..start + block.len()];
        block.iter_mut().zip(src).for_each(|(o, &x)| {
            o.write(f(x));
        });
    })
}

/// `f(a_i, b_i)` element-wise over two equal-length slices, in chunks, on [`threads`] threads.
///
/// # Panics
/// If the lengths differ.
pub fn zip_map<T, U>(a: &[T], b: &[T], chunk: usize, f: impl Fn(T, T) -> U + Sync) -> Vec<U>
where
    T: Copy + Sync,
    U: Copy + Send,
{
    assert_eq!(a.len(), b.len(), "zip_map: lengths differ");
    collect_chunks(a.len(), chunk, |start, block| {
        let (xs, ys) = (
            &a[start..start + block.len()],
            &b[start..start + block.len()],
        );
        for ((o, &x), &y) in block.iter_mut().zip(xs).zip(ys) {
            o.write(f(x, y));
        }
    })
}

/// A new vector of `n` values written block by block by `fill(start, block)` through
/// [`fill_chunks`], without first zeroing it: a `vec![0; n]` of a large output is a serial
/// memset as long as the parallel loop itself. `fill` must write every element it is given.
fn collect_chunks<U: Send>(
    n: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [std::mem::MaybeUninit<U>]) + Sync,
) -> Vec<U> {
    let mut out: Vec<U> = Vec::with_capacity(n);
    fill_chunks(&mut out.spare_capacity_mut()[..n], chunk, fill);
    // SAFETY: the blocks of `fill_chunks` cover `0..n` and `fill` wrote every element of each
    // (its contract; the callers above are equal-length loops); a panic in `fill` unwinds
    // before this line and leaves `out` empty.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(n)
    };
    out
}

/// Sums of consecutive rows of `inner` elements (`xs` is `[rows, inner]` row-major) down to
/// one row, by fixed blocks of `rows_per_chunk` rows: each block's partial sum is a
/// left-to-right loop, and the partial sums are added in block order. Bit-identical for any
/// thread count (not to a single left-to-right loop over all rows).
///
/// # Panics
/// If `inner == 0` or `xs.len()` is not a multiple of `inner`.
pub fn sum_rows<T>(xs: &[T], inner: usize, rows_per_chunk: usize) -> Vec<T>
where
    T: Copy + Send + Sync + Default + std::ops::AddAssign,
{
    assert!(
        inner > 0 && xs.len().is_multiple_of(inner),
        "sum_rows: {} elements are not rows of {inner}",
        xs.len()
    );
    let partials = map_chunks(xs.len() / inner, rows_per_chunk, |_, r| {
        if inner == 1 {
            let mut acc = T::default();
            xs[r].iter().for_each(|&v| acc += v);
            return vec![acc];
        }
        let mut acc = vec![T::default(); inner];
        for row in xs[r.start * inner..r.end * inner].chunks_exact(inner) {
            acc.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
        acc
    });
    let mut total = vec![T::default(); inner];
    for p in partials {
        total.iter_mut().zip(p).for_each(|(s, v)| *s += v);
    }
    total
}

/// The sum of `xs` by fixed chunks of `chunk` (see [`sum_rows`]).
pub fn sum_f64(xs: &[f64], chunk: usize) -> f64 {
    sum_rows(xs, 1, chunk)[0]
}

pub(crate) mod team;

#[cfg(test)]
mod tests;
