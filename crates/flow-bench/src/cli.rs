//! The command line: `flows reproduce`, `flows report`, `flows list` and `flows reference`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Parser, Subcommand};

use crate::error::BenchError;
use crate::experiment::Mode;
use crate::merge::{self, ReportOptions};
use crate::overrides::PresetOverride;
use crate::paper::PaperId;
use crate::registry;
use crate::runner::{self, DEFAULT_OUT, RunOptions};
use crate::schedule::{Shard, parse_shard};

/// Reproduce the headline experiments of the flows papers into a report.
#[derive(Debug, Parser)]
#[command(name = "flows", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run experiments (skipping cached results) and write the report.
    Reproduce(ReproduceArgs),
    /// Merge the results of several output folders (e.g. the shards of a cluster run) into
    /// one report.
    Report(ReportArgs),
    /// List the registered experiments.
    List(ListArgs),
    /// Generate (or load from the cache) an MCMC reference set for DW4 or LJ13 at τ = 1.
    Reference(ReferenceArgs),
}

/// Options of `flows reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Only these papers' experiments (repeat the flag or separate with commas).
    #[arg(long = "paper", value_enum, value_delimiter = ',')]
    pub papers: Vec<PaperId>,
    /// Only these experiments, by id (see `flows list`; repeatable, comma-separated).
    #[arg(long = "experiment", short = 'e', value_delimiter = ',')]
    pub experiments: Vec<String>,
    /// Quick presets: the whole report in minutes on 2 cores (the default).
    #[arg(long, group = "mode")]
    pub quick: bool,
    /// Paper-scale presets.
    #[arg(long, group = "mode")]
    pub full: bool,
    /// Tiny presets for smoke tests (seconds; numbers are not meaningful).
    #[arg(long, group = "mode")]
    pub smoke: bool,
    /// Base seed; results are cached per preset and seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder for the report, figures and raw results.
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Experiments run at the same time, and the size of the shared pool their parallel
    /// kernels use (`flow_core::parallel`; also caps the GEMM threads) [default: the
    /// FLOWS_THREADS environment variable, else the available cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Rerun experiments whose results are already there.
    #[arg(long)]
    pub redo: bool,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Change one preset field: `EXPERIMENT:/json/pointer=VALUE` (repeatable), e.g.
    /// `--set 'fff-egnn-boltzmann:/0/steps=20000'`. Pointers follow `flows list --presets`.
    #[arg(long = "set", value_name = "EXPERIMENT:/POINTER=VALUE")]
    pub overrides: Vec<PresetOverride>,
    /// Run only share I of N of the selection (1 ≤ I ≤ N): the selected ids sorted, every
    /// N-th from the I-th; for job arrays, merged afterwards with `flows report`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

/// The mode of the `--quick`/`--full`/`--smoke` flags (quick when none is given).
fn mode_of(full: bool, smoke: bool) -> Mode {
    match (full, smoke) {
        (true, _) => Mode::Full,
        (_, true) => Mode::Test,
        _ => Mode::Quick,
    }
}

impl ReproduceArgs {
    /// The selected mode.
    pub fn mode(&self) -> Mode {
        mode_of(self.full, self.smoke)
    }

    /// The run options these arguments describe.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            papers: self.papers.clone(),
            experiments: self.experiments.clone(),
            mode: self.mode(),
            seed: self.seed,
            out: self.out.clone(),
            threads: self
                .threads
                .map_or_else(flow_core::parallel::threads, usize::from),
            redo: self.redo,
            progress: !self.no_progress,
            overrides: self.overrides.clone(),
        }
    }
}

/// Options of `flows report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output folders of `flows reproduce` runs to merge (e.g. one per shard).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The runs used quick presets (the default).
    #[arg(long, group = "mode")]
    pub quick: bool,
    /// The runs used paper-scale presets.
    #[arg(long, group = "mode")]
    pub full: bool,
    /// The runs used smoke-test presets.
    #[arg(long, group = "mode")]
    pub smoke: bool,
    /// Base seed of the runs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder of the merged report (results and figures are copied there; may be one of DIR).
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// The `--set` changes the runs used (they are part of the result keys).
    #[arg(long = "set", value_name = "EXPERIMENT:/POINTER=VALUE")]
    pub overrides: Vec<PresetOverride>,
}

impl ReportArgs {
    /// The merge these arguments describe.
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            inputs: self.dirs.clone(),
            out: self.out.clone(),
            mode: mode_of(self.full, self.smoke),
            seed: self.seed,
            overrides: self.overrides.clone(),
        }
    }
}

/// Options of `flows list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also print each experiment's claim and its preset in this mode (quick, full or smoke).
    #[arg(long, value_enum)]
    pub presets: Option<Mode>,
}

/// Particle systems with MCMC reference data.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReferenceSystem {
    /// 4 particles in 2-D, double-well pair potential.
    Dw4,
    /// 13 Lennard-Jones particles in 3-D (bgflow's energy).
    Lj13,
    /// LJ13 with the pair sum over ordered pairs (the equivariant-flow-matching data's energy).
    Lj13OrderedPairs,
}

/// Options of `flows reference`.
#[derive(Debug, Args)]
pub struct ReferenceArgs {
    /// Which system.
    #[arg(long, value_enum)]
    pub system: ReferenceSystem,
    /// Number of samples.
    #[arg(long, default_value_t = 100_000)]
    pub samples: usize,
    /// Seed of the chains.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cache folder (files are named `<system>-n<samples>-s<seed>.f64`).
    #[arg(long, default_value = "reference-data")]
    pub dir: PathBuf,
}

/// Runs `flows reference`.
///
/// # Errors
/// [`BenchError::BadArgument`] for a sample count of 0 or one that cannot fit in memory;
/// [`BenchError::Data`] for an unreadable cache.
pub fn reference(args: &ReferenceArgs) -> Result<(), BenchError> {
    use flow_data::mcmc::{ReferenceTarget, load_or_generate_reference};
    let target = match args.system {
        ReferenceSystem::Dw4 => ReferenceTarget::Dw4,
        ReferenceSystem::Lj13 => ReferenceTarget::Lj13,
        ReferenceSystem::Lj13OrderedPairs => ReferenceTarget::Lj13OrderedPairs,
    };
    // A cached set holds `samples × 39` f64 at most (LJ13); the chains keep a few copies.
    let bytes = (args.samples as f64) * 39.0 * 8.0 * 4.0;
    let memory = crate::validate::available_memory();
    if args.samples == 0 || bytes > memory as f64 {
        return Err(BenchError::BadArgument {
            arg: format!("--samples {}", args.samples),
            why: format!(
                "need at least 1 sample and at most {} (about 1.2 kB each against {:.1} GiB of available memory)",
                (memory as f64 / (39.0 * 32.0)).floor(),
                memory as f64 / f64::from(1u32 << 30)
            ),
        });
    }
    let set = load_or_generate_reference(target, args.samples, args.seed, &args.dir)?;
    let source = if set.acceptance_rate.is_nan() {
        "loaded from the cache".to_string()
    } else {
        format!("generated, MALA acceptance {:.3}", set.acceptance_rate)
    };
    println!(
        "{:?}: {:?} samples in {} ({source})",
        args.system,
        set.samples.shape(),
        args.dir.display()
    );
    Ok(())
}

/// Runs a parsed command. `cancel` is the Ctrl-C flag.
///
/// # Errors
/// Whatever `reproduce` returns (see [`runner::reproduce`] and [`runner::RunSummary::into_result`]).
pub fn run(cli: Cli, cancel: Arc<AtomicBool>) -> Result<(), BenchError> {
    match cli.command {
        Command::List(args) => {
            list(&args);
            Ok(())
        }
        Command::Reference(args) => reference(&args),
        Command::Report(args) => {
            let summary = merge::merge(&args.options())?;
            eprintln!(
                "{} result(s) from {} folder(s) ({} copied), {} experiment(s) without a result; report: {}",
                summary.found.len(),
                args.dirs.len(),
                summary.copied,
                summary.missing.len(),
                summary.index.display()
            );
            Ok(())
        }
        Command::Reproduce(args) => {
            let shard = args.shard.unwrap_or(Shard::WHOLE);
            let summary = runner::reproduce_shard(&args.options(), shard, cancel)?;
            eprintln!(
                "{} ran, {} cached, {} failed in {:.1} s; report: {}",
                summary.ran.len(),
                summary.cached.len(),
                summary.failed.len(),
                summary.seconds,
                summary.index.display()
            );
            summary.into_result().map(|_| ())
        }
    }
}

fn list(args: &ListArgs) {
    for exp in registry::registry() {
        println!(
            "{:<28} {:<26} {}",
            exp.id(),
            exp.paper().info().slug,
            exp.title()
        );
        if let Some(mode) = args.presets {
            println!("    claim:  {}", exp.claim());
            println!("    preset: {}", exp.preset(mode));
        }
    }
}
