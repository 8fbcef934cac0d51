//! The command line: `flows reproduce` and `flows list`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Parser, Subcommand};

use crate::error::BenchError;
use crate::experiment::Mode;
use crate::paper::PaperId;
use crate::registry;
use crate::runner::{self, DEFAULT_OUT, RunOptions};

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
    /// List the registered experiments.
    List(ListArgs),
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
    /// Experiments run at the same time [default: available cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Rerun experiments whose results are already there.
    #[arg(long)]
    pub redo: bool,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

impl ReproduceArgs {
    /// The selected mode.
    pub fn mode(&self) -> Mode {
        match (self.full, self.smoke) {
            (true, _) => Mode::Full,
            (_, true) => Mode::Test,
            _ => Mode::Quick,
        }
    }

    /// The run options these arguments describe.
    pub fn options(&self) -> RunOptions {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        RunOptions {
            papers: self.papers.clone(),
            experiments: self.experiments.clone(),
            mode: self.mode(),
            seed: self.seed,
            out: self.out.clone(),
            threads: self.threads.map_or(cores, usize::from),
            redo: self.redo,
            progress: !self.no_progress,
        }
    }
}

/// Options of `flows list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also print each experiment's claim and its preset in this mode (quick, full or test).
    #[arg(long, value_enum)]
    pub presets: Option<Mode>,
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
        Command::Reproduce(args) => {
            let summary = runner::reproduce(&args.options(), cancel)?;
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
