//! A small fork–join team for fine-grained work on the calling thread's hot path (the parts
//! of one matrix product): the caller runs one share itself and `n − 1` persistent helper
//! threads run the others.
//!
//! Why not the rayon pools: a step of the reference MLP alternates ~0.1–0.5 ms products with
//! ~0.1–0.3 ms of serial element-wise work. Rayon's idle workers go to sleep within
//! microseconds, and waking a sleeping worker on a virtual machine (an idle vCPU halts) took
//! up to hundreds of microseconds here: with a 100 µs serial gap before each product, one
//! call in ten of a 512×256·256×256 product ran at single-thread speed (p90 650 µs against a
//! 355 µs median; `examples/gemm_wall.rs`, BENCHMARKS.md). A helper here spins for
//! [`SPIN`] after its last job before it parks, so a product that follows within that window
//! starts on both cores at once; the caller also does a share instead of blocking.
//!
//! One caller at a time owns the team; a second concurrent caller (another thread) gets
//! `false` from [`fork`] and runs its parts serially. Parts are fixed by the caller before
//! the team is asked for, so results never depend on who runs them.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it parks: longer than the serial gaps inside a
/// training step of the reference workloads, short enough that an idle process stops using
/// the core within a fraction of a millisecond.
pub(crate) const SPIN: Duration = Duration::from_micros(300);

/// Polls between yields of a spinning helper or caller (a few microseconds). When the
/// machine has fewer free cores than workers (a CPU quota, another job on the other core,
/// `FLOWS_THREADS` above the core count), a waiter that only spins holds the core that the
/// thread it waits for needs: with two workers forced onto one core a RealNVP step took
/// 23 ms instead of 2. `sched_yield` hands the core over when someone else can run and
/// returns at once when no one can.
const YIELD_POLLS: u32 = 64;

/// The work of one fork: called once with each worker index `0..n`.
type Task = dyn Fn(usize) + Sync;

/// A type-erased pointer to the caller's task, valid until the caller has seen every helper
/// finish (see [`fork`]).
#[derive(Clone, Copy)]
struct TaskPtr(*const Task);

// SAFETY: the pointee is `Sync` (shared calls from several threads are allowed) and `fork`
// keeps it alive until every helper that received the pointer has finished with it.
unsafe impl Send for TaskPtr {}

/// One helper's mailbox.
struct Slot {
    /// Generation of the last job posted; a change tells the helper to run `job`.
    posted: AtomicU64,
    /// Generation of the last job the helper finished.
    finished: AtomicU64,
    job: Mutex<Option<(TaskPtr, usize)>>,
    panicked: AtomicBool,
    thread: OnceLock<Thread>,
}

/// The helpers; the mutex is held by the one caller that owns the team.
static TEAM: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

fn spawn_helper(index: usize) -> Arc<Slot> {
    let slot = Arc::new(Slot {
        posted: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        job: Mutex::new(None),
        panicked: AtomicBool::new(false),
        thread: OnceLock::new(),
    });
    let mine = slot.clone();
    let handle = thread::Builder::new()
        .name(format!("flows-team-{index}"))
        .spawn(move || helper_loop(&mine))
        .unwrap_or_else(|e| panic!("parallel team: cannot start helper {index}: {e}"));
    slot.thread
        .set(handle.thread().clone())
        .expect("parallel team: helper registered twice");
    slot
}

/// Waits for a new generation: spins for [`SPIN`], then parks.
fn wait_for_job(slot: &Slot, seen: u64) -> u64 {
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        let g = slot.posted.load(Ordering::Acquire);
        if g != seen {
            return g;
        }
        polls = polls.wrapping_add(1);
        if !polls.is_multiple_of(YIELD_POLLS) {
            std::hint::spin_loop();
        } else if start.elapsed() > SPIN {
            // `unpark` before `park` leaves a token, so a post between the check and the park
            // is never missed; a spurious wake-up just loops.
            thread::park();
        } else {
            thread::yield_now();
        }
    }
}

fn helper_loop(slot: &Slot) {
    let mut seen = 0;
    loop {
        seen = wait_for_job(slot, seen);
        let (task, index) = slot
            .job
            .lock()
            .expect("parallel team: job slot poisoned")
            .take()
            .expect("parallel team: a generation without a job");
        // SAFETY: the caller of `fork` waits for `finished == seen` before its task goes out
        // of scope (also when its own share panics), so the pointer is valid here.
        let f: &Task = unsafe { &*task.0 };
        if catch_unwind(AssertUnwindSafe(|| f(index))).is_err() {
            slot.panicked.store(true, Ordering::Relaxed);
        }
        slot.finished.store(seen, Ordering::Release);
    }
}

/// Waits, on drop, until every posted helper has finished: runs even when the caller's own
/// share unwinds, so no helper can outlive the borrowed task.
struct Join<'a> {
    posted: Vec<(&'a Slot, u64)>,
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        for &(slot, generation) in &self.posted {
            let mut polls = 0u32;
            while slot.finished.load(Ordering::Acquire) != generation {
                polls = polls.wrapping_add(1);
                if polls.is_multiple_of(YIELD_POLLS) {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// Runs `f(0)` on the calling thread and `f(1) … f(n − 1)` on helper threads, returning when
/// all have finished. Returns `false` without running anything when another thread owns the
/// team (the caller then does the work itself).
///
/// # Panics
/// If `f` panics on any worker (after all workers have finished).
pub(crate) fn fork(n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    if n <= 1 {
        f(0);
        return true;
    }
    let mut helpers = match TEAM.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::WouldBlock) => return false,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
    };
    while helpers.len() < n - 1 {
        let index = helpers.len() + 1;
        helpers.push(spawn_helper(index));
    }
    // SAFETY: only the lifetime is erased; `join` (below) outlives every use of the pointer.
    let task = TaskPtr(unsafe {
        std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Task>(f)
    });
    let mut join = Join {
        posted: Vec::with_capacity(n - 1),
    };
    for (i, slot) in helpers.iter().take(n - 1).enumerate() {
        slot.panicked.store(false, Ordering::Relaxed);
        *slot.job.lock().expect("parallel team: job slot poisoned") = Some((task, i + 1));
        let generation = slot.posted.fetch_add(1, Ordering::AcqRel) + 1;
        join.posted.push((slot, generation));
        slot.thread
            .get()
            .expect("parallel team: helper thread")
            .unpark();
    }
    f(0);
    drop(join);
    let panicked = helpers
        .iter()
        .take(n - 1)
        .any(|s| s.panicked.swap(false, Ordering::Relaxed));
    drop(helpers);
    assert!(!panicked, "parallel team: a helper's share panicked");
    true
}

/// Row-partitioned work (element-wise passes, and with [`crate::ops::gemm`]'s rule the row
/// blocks of a product) on fewer elements than this stays on the calling thread: each
/// worker's share is then at least 32 Ki elements (128 KiB of f32).
///
/// Why not less: the hand-off itself costs ~1 µs, but a share's *data* moves between cores
/// too (a helper reads what the caller wrote and the caller later reads the helper's rows).
/// When the two cores sit on different chiplets (a cache-line round trip of ~350 ns instead
/// of ~60 ns; a VM's vCPUs move between the two placements, and many-core hosts spread threads
/// across chiplets) that traffic cost a 512 × 64 pass more than splitting it saved: RealNVP
/// 8-D one-graph steps took 3.0–3.2 ms against 2.0 near and 2.1 on one thread. At 2¹⁶ the
/// hidden layers of a 64-wide coupling subnet at batch 512 stay on one core (2.1 ms in either
/// placement) and the 512 × 256 passes of the MLP steps still split (BENCHMARKS.md, session
/// 19). Was 2¹⁵ until then.
pub(crate) const MIN_PARALLEL_ELEMENTS: usize = 1 << 16;

/// How many parts element-wise work over `n` elements is cut into here: one per thread the
/// caller may use ([`crate::parallel::gemm_threads`]), each of at least half of
/// [`MIN_PARALLEL_ELEMENTS`]. Element-wise results do not depend on the cut.
pub(crate) fn elementwise_parts(n: usize) -> usize {
    if n < MIN_PARALLEL_ELEMENTS {
        return 1;
    }
    crate::parallel::gemm_threads()
        .min(n / (MIN_PARALLEL_ELEMENTS / 2))
        .max(1)
}

/// Runs `f` on every item, the items cut into `threads` contiguous runs, one per worker of
/// the team (or all on the calling thread when `threads` is 1 or the team is busy).
pub(crate) fn run_parts<X: Send>(items: Vec<X>, threads: usize, f: impl Fn(X) + Sync) {
    let parts = items.len();
    let threads = threads.clamp(1, parts.max(1));
    if threads == 1 {
        items.into_iter().for_each(f);
        return;
    }
    let slots: Vec<Mutex<Option<X>>> = items.into_iter().map(|x| Mutex::new(Some(x))).collect();
    let take = |p: usize| {
        slots[p]
            .lock()
            .expect("parallel team: part poisoned")
            .take()
    };
    let share = |w: usize| {
        for p in w * parts / threads..(w + 1) * parts / threads {
            if let Some(x) = take(p) {
                f(x);
            }
        }
    };
    if !fork(threads, &share) {
        (0..parts).filter_map(take).for_each(&f);
    }
}

/// A new vector of `n` values, written chunk by chunk by `fill(offset, chunk)`, the chunks
/// cut by [`elementwise_parts`] and run by [`run_parts`]. `fill` must write every element of
/// the chunk it is given.
pub(crate) fn collect_parts<T: Send>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    let parts = elementwise_parts(n);
    let chunk = n.div_ceil(parts).max(1);
    let chunks: Vec<(usize, &mut [MaybeUninit<T>])> = out.spare_capacity_mut()[..n]
        .chunks_mut(chunk)
        .enumerate()
        .map(|(i, c)| (i * chunk, c))
        .collect();
    run_parts(chunks, parts, |(start, c)| fill(start, c));
    // SAFETY: the chunks cover `0..n` and `fill` wrote every element of each (its contract;
    // the crate's callers are equal-length zip loops); a panic in `fill` unwinds before this
    // line, leaving `out` empty.
    unsafe { out.set_len(n) };
    out
}

/// `dst[i] += src[i]` over several slice pairs at once (gradient sums of many parameters, a
/// cotangent accumulated in place), cut into parts of at most half of
/// [`MIN_PARALLEL_ELEMENTS`] and run on the team: one fork for the whole list. Each element
/// is the one IEEE addition `dst[i] + src[i]`, so the result is `Tensor::add`'s bit for bit,
/// whatever the cut.
///
/// # Panics
/// If a pair's lengths differ.
pub(crate) fn add_assign_all<T>(pairs: Vec<(&mut [T], &[T])>)
where
    T: Copy + Send + Sync + std::ops::Add<Output = T>,
{
    let size = MIN_PARALLEL_ELEMENTS / 2;
    let mut total = 0;
    let mut parts: Vec<(&mut [T], &[T])> = Vec::new();
    for (d, s) in pairs {
        assert_eq!(
            d.len(),
            s.len(),
            "add_assign_all: lengths {} and {}",
            d.len(),
            s.len()
        );
        total += d.len();
        parts.extend(d.chunks_mut(size).zip(s.chunks(size)));
    }
    run_parts(parts, elementwise_parts(total), |(d, s)| {
        for (a, &b) in d.iter_mut().zip(s) {
            *a = *a + b;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_index_runs_once() {
        for n in 1..=4 {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                let ran = fork(n, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                if !ran {
                    (0..n).for_each(|i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    });
                }
            }
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 50),
                "n = {n}"
            );
        }
    }

    #[test]
    fn run_parts_and_collect_parts_cover_everything_once() {
        for threads in [1, 2, 3] {
            let seen: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            run_parts((0..7).collect(), threads, |i: usize| {
                seen[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
        }
        for n in [0, 1, 1000, MIN_PARALLEL_ELEMENTS + 3] {
            let v: Vec<u64> = collect_parts(n, |start, out| {
                for (i, o) in out.iter_mut().enumerate() {
                    o.write((start + i) as u64 * 3);
                }
            });
            assert_eq!(v, (0..n as u64).map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_parked_helper_wakes() {
        let count = AtomicUsize::new(0);
        let f = |_| {
            count.fetch_add(1, Ordering::Relaxed);
        };
        let mut expected = 0;
        for _ in 0..3 {
            // Long enough for the helper to stop spinning and park.
            thread::sleep(SPIN * 4);
            if fork(2, &f) {
                expected += 2;
            }
        }
        assert_eq!(count.load(Ordering::Relaxed), expected);
    }

    #[test]
    fn a_panicking_share_is_reported_after_all_finish() {
        let done = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            fork(3, &|i| {
                if i == 2 {
                    panic!("share 2 fails");
                }
                thread::sleep(Duration::from_millis(2));
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        // Either the team ran (2 shares finished, then the panic) or another test owned it.
        match result {
            Err(_) => assert_eq!(done.load(Ordering::Relaxed), 2),
            Ok(ran) => assert!(!ran),
        }
        // The team is usable afterwards.
        let n = AtomicUsize::new(0);
        let _ = fork(2, &|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
    }
}
