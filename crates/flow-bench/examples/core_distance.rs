//! How far apart the machine's first two cores are, as the round trip of one cache line
//! between two threads that bounce a counter (ns per round trip, best of five batches):
//!
//! `cargo run --release -p flow-bench --example core_distance`
//!
//! Why it exists: on the project's 2-vCPU VM the host moves the two vCPUs between sharing a
//! last-level cache (a round trip of ~60 ns) and sitting on different chiplets (~350 ns),
//! every few seconds to minutes, and a step that splits small operations across both cores
//! runs up to 1.6× slower in the far placement (BENCHMARKS.md, session 19). `compare.py`
//! prints this probe before and after each round so a table says which placement it saw.
//! Two busy threads on a two-core machine sit on different cores without pinning.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

/// Round trips per batch: ~10–70 ms.
const TRIPS: u64 = 200_000;

/// Nanoseconds per round trip of one batch: this thread writes odd values, the partner
/// answers each with the next even one.
fn batch(flag: &AtomicU64, start: u64) -> f64 {
    let t0 = Instant::now();
    for i in 0..TRIPS {
        let odd = start + 2 * i + 1;
        flag.store(odd, Ordering::Release);
        while flag.load(Ordering::Acquire) != odd + 1 {
            std::hint::spin_loop();
        }
    }
    t0.elapsed().as_secs_f64() * 1e9 / TRIPS as f64
}

fn main() {
    const BATCHES: u64 = 5;
    let flag = Arc::new(AtomicU64::new(0));
    let partner = {
        let flag = flag.clone();
        thread::spawn(move || {
            let last = 2 * TRIPS * BATCHES;
            loop {
                let v = flag.load(Ordering::Acquire);
                if v % 2 == 1 {
                    flag.store(v + 1, Ordering::Release);
                    if v + 1 == last {
                        return;
                    }
                }
                std::hint::spin_loop();
            }
        })
    };
    let best = (0..BATCHES)
        .map(|b| batch(&flag, 2 * TRIPS * b))
        .fold(f64::INFINITY, f64::min);
    partner.join().expect("core_distance: partner thread");
    println!("core-to-core round trip: {best:.0} ns");
}
