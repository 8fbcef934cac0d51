//! Keep freed heap memory in the process instead of returning it to the OS.
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
