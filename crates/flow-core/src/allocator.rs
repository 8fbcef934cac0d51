//! Two opt-in settings of the process's heap for training loops: keep freed memory in the
//! process ([`keep_freed_memory`]) and put large buffers on cache-line boundaries
//! ([`CacheAligned`]).
//!
//! # Keeping freed memory
//!
//! A training step allocates and frees the same large activation buffers every iteration.
//! With glibc's defaults, blocks above the (dynamic) mmap threshold are `mmap`ed fresh and
//! freed memory at the top of the heap is trimmed back to the OS, so every step page-faults
//! its buffers in again. Profiling the EGNN free-form-flow step (`perf`, DW4/LJ13) showed
//! about 25 % of the time in those page faults; raising the thresholds cut the faults from
//! ~300k to ~46k per run and the CPU time by 25–45 %.
//!
//! [`keep_freed_memory`] is opt-in (a library should not change its host's allocator on its
//! own): the `flows` binary, the benchmarks and the examples call it first thing. Memory then
//! stays at the high-water mark of a step instead of shrinking between steps. It does
//! nothing outside glibc Linux.

/// Raises glibc's mmap threshold to 64 MiB and its trim threshold to 256 MiB (with a 64 MiB
/// top pad), so that buffers freed by one training step are reused by the next without
/// page faults. Returns whether the settings were applied (false on other platforms, when
/// the environment sets `FLOWS_KEEP_FREED_MEMORY=0`, or if glibc refused one of them).
/// Call it once, at the start of `main`, before heavy work.
///
/// ```
/// let _applied = flow_core::allocator::keep_freed_memory();
/// ```
pub fn keep_freed_memory() -> bool {
    if std::env::var("FLOWS_KEEP_FREED_MEMORY").is_ok_and(|v| v == "0") {
        return false;
    }
    imp::apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    const MIB: i32 = 1 << 20;

    #[allow(unsafe_code)]
    pub fn apply() -> bool {
        let settings = [
            (libc::M_MMAP_THRESHOLD, 64 * MIB),
            (libc::M_TRIM_THRESHOLD, 256 * MIB),
            (libc::M_TOP_PAD, 64 * MIB),
        ];
        settings.iter().all(|&(param, value)| {
            // SAFETY: `mallopt` only adjusts allocator tunables; it takes plain integers and
            // is safe to call at any time from any thread (glibc locks the arena).
            unsafe { libc::mallopt(param, value) == 1 }
        })
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn apply() -> bool {
        false
    }
}

/// A global allocator that starts every allocation of at least [`CacheAligned::MIN_SIZE`]
/// bytes on a 64-byte boundary (a cache line, and one AVX-512 register), and passes smaller
/// ones to the system allocator unchanged. Opt-in, like [`keep_freed_memory`]: a binary
/// declares it (the `flows` binary, the benchmarks and the timing examples do).
///
/// # Why
/// glibc returns large blocks 16 bytes past a 64-byte boundary, so every tensor buffer began
/// mid-line and every 64-byte vector load of it touched two cache lines. faer's kernels read
/// the unpacked operand of a product straight from the tensor's buffer: the last layer's weight
/// gradient of the reference MLP (`[512,8]ᵀ·[512,256]`) took 18.5 µs with `B` 16 bytes off a
/// line against 12.6 µs on one (one core, Intel Xeon, session 22), and the sharded MLP and
/// free-form steps ran 2 % faster with this allocator (BENCHMARKS.md, session 22).
///
/// # How
/// A large block is taken from the system allocator 64 bytes longer than asked, and the
/// returned pointer is the first 64-byte boundary at least 8 bytes into it; the 8 bytes
/// before that pointer hold the block's start, which `dealloc` reads back. glibc's fast
/// paths for `malloc`/`free` stay in use (its `posix_memalign` splits and frees fragments on
/// every call, and made the MLP step 4 % slower). Requests for more than 16-byte alignment go
/// to the system allocator as they are.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CacheAligned;

impl CacheAligned {
    /// Allocations of at least this many bytes are aligned (smaller ones are not tensor
    /// buffers that kernels stream through, and would pay 64 bytes each).
    pub const MIN_SIZE: usize = 4096;
    /// The alignment given to large allocations.
    pub const ALIGN: usize = 64;

    /// Whether `layout` is served on a 64-byte boundary by this allocator.
    fn widens(layout: std::alloc::Layout) -> bool {
        layout.size() >= Self::MIN_SIZE && layout.align() <= 16
    }

    /// The system block behind a widened `layout`.
    fn outer(layout: std::alloc::Layout) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(layout.size() + Self::ALIGN, 16)
            .expect("CacheAligned: allocation size overflows")
    }
}

#[allow(unsafe_code)]
mod cache_aligned {
    use super::CacheAligned;
    use std::alloc::{GlobalAlloc, Layout, System};

    /// The first 64-byte boundary at least 8 bytes into the block at `raw`, with `raw`
    /// written just before it (null stays null).
    ///
    /// # Safety
    /// `raw` is null or the start of a block of `size + 64` bytes, 16-byte aligned.
    unsafe fn place(raw: *mut u8) -> *mut u8 {
        if raw.is_null() {
            return raw;
        }
        // With `raw` 16-byte aligned the offset is 16, 32, 48 or 64.
        let offset = (raw as usize + 8).next_multiple_of(CacheAligned::ALIGN) - raw as usize;
        // SAFETY: `16 ≤ offset ≤ 64` and the block has 64 spare bytes, so the aligned pointer
        // and the 8 bytes before it lie inside the block; the header is 8-byte aligned since
        // the aligned pointer is 64-byte aligned.
        unsafe {
            let aligned = raw.add(offset);
            aligned.cast::<usize>().sub(1).write(raw as usize);
            aligned
        }
    }

    // SAFETY: every pointer handed out is either the system allocator's own (small or
    // over-aligned layouts, freed with the same layout) or `place` inside a system block of
    // `outer(layout)` bytes, freed through the start recorded before it with that layout;
    // `widens` depends only on the layout, which the caller passes back unchanged.
    unsafe impl GlobalAlloc for CacheAligned {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded contract of `GlobalAlloc::alloc` (non-zero size).
            unsafe {
                if Self::widens(layout) {
                    place(System.alloc(Self::outer(layout)))
                } else {
                    System.alloc(layout)
                }
            }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as `alloc`; the whole system block is zeroed, the caller's part with it.
            unsafe {
                if Self::widens(layout) {
                    place(System.alloc_zeroed(Self::outer(layout)))
                } else {
                    System.alloc_zeroed(layout)
                }
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from this allocator with `layout` (the caller's contract), so
            // a widened one has its block's start written just before it.
            unsafe {
                if Self::widens(layout) {
                    let raw = ptr.cast::<usize>().sub(1).read() as *mut u8;
                    System.dealloc(raw, Self::outer(layout));
                } else {
                    System.dealloc(ptr, layout);
                }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller's contract of `GlobalAlloc::realloc`: `ptr` is ours with
            // `layout`, `new_size` is non-zero and fits `layout.align()`.
            unsafe {
                let new = Layout::from_size_align_unchecked(new_size, layout.align());
                if !Self::widens(layout) && !Self::widens(new) {
                    return System.realloc(ptr, layout, new_size);
                }
                let out = self.alloc(new);
                if !out.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, out, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                out
            }
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::CacheAligned;
    use std::alloc::{GlobalAlloc, Layout};

    /// Large blocks start on a line, keep their contents through growth and shrinking across
    /// the size threshold, come zeroed when asked, and small or over-aligned requests keep
    /// their own alignment; every block is freed (the test runs under the system allocator,
    /// so a wrong free would abort it).
    #[test]
    fn large_blocks_are_line_aligned_and_keep_their_contents() {
        let a = CacheAligned;
        // SAFETY: every layout has a non-zero size; each pointer is freed once with the
        // layout (or the reallocated size) it was last given.
        unsafe {
            for size in [4096, 4097, 10_000, 1 << 20] {
                let layout = Layout::from_size_align(size, 4).unwrap();
                let p = a.alloc(layout);
                assert_eq!(p as usize % 64, 0, "{size} bytes");
                p.write_bytes(0xAB, size);
                a.dealloc(p, layout);
                let z = a.alloc_zeroed(layout);
                assert_eq!(z as usize % 64, 0);
                assert!((0..size).all(|i| *z.add(i) == 0));
                a.dealloc(z, layout);
            }
            let small = Layout::from_size_align(100, 8).unwrap();
            let mut p = a.alloc(small);
            for i in 0..100 {
                p.add(i).write(i as u8);
            }
            // Small → large → larger → small: the first 100 bytes survive every move.
            let mut size = 100;
            for new in [5000, 20_000, 60] {
                p = a.realloc(p, Layout::from_size_align(size, 8).unwrap(), new);
                if new >= CacheAligned::MIN_SIZE {
                    assert_eq!(p as usize % 64, 0);
                }
                assert!((0..size.min(new).min(100)).all(|i| *p.add(i) == i as u8));
                size = new;
            }
            a.dealloc(p, Layout::from_size_align(size, 8).unwrap());
            let wide = Layout::from_size_align(8192, 128).unwrap();
            let w = a.alloc(wide);
            assert_eq!(w as usize % 128, 0);
            a.dealloc(w, wide);
        }
    }
}
