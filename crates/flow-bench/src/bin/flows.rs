//! `flows`: reproduce the papers' headline experiments into a report (see `flows --help`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use flow_bench::cli::{self, Cli};

/// Tensor buffers on cache-line boundaries, as in every binary that times flow-core
/// ([`flow_core::allocator::CacheAligned`]).
#[global_allocator]
static ALLOC: flow_core::allocator::CacheAligned = flow_core::allocator::CacheAligned;

fn main() {
    flow_core::allocator::keep_freed_memory();
    let cli = Cli::parse();
    // One thread setting for the whole process, fixed before any thread starts.
    if let cli::Command::Reproduce(args) = &cli.command
        && let Some(n) = args.threads
    {
        flow_core::parallel::set_threads(n.into());
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let handler = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond Ctrl-C: exiting now (finished results are on disk)");
            std::process::exit(130);
        }
        eprintln!(
            "\nCtrl-C: stopping after writing the report for finished experiments (press again to quit now)"
        );
    });
    if let Err(e) = handler {
        eprintln!("warning: cannot install the Ctrl-C handler: {e}");
    }
    if let Err(e) = cli::run(cli, cancel) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
