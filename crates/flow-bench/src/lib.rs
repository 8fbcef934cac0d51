//! # flow-bench
//!
//! The main job of the `flows` workspace: the `flows` binary whose `reproduce` command runs
//! each paper's headline experiment and writes a report (one HTML and Markdown page per paper
//! with claims, claimed-versus-measured tables, SVG plots, seeds, timings and rerun commands;
//! an index page; raw results as JSON and CSV).
//!
//! ```text
//! cargo run --release -p flow-bench --bin flows -- reproduce --quick      # ~minutes, 2 cores
//! cargo run --release -p flow-bench --bin flows -- reproduce --full       # paper scale
//! cargo run --release -p flow-bench --bin flows -- reproduce --paper free-form-flows --seed 1
//! cargo run --release -p flow-bench --bin flows -- reproduce -e fff-linear-hutchinson --redo
//! cargo run --release -p flow-bench --bin flows -- list --presets quick
//! ```
//!
//! Results are cached as `OUT/results/<experiment>-<preset-hash>-seed<seed>.json` (written
//! atomically), so a rerun skips finished experiments (`--redo` reruns them) and Ctrl-C never
//! loses a finished result.
//!
//! Not here: models, bijections, theorems (the method crates); this crate only drives them.
//!
//! ## Adding an experiment (for each method crate's issue)
//! 1. Add the method crate to `crates/flow-bench/Cargo.toml` (`flow-xyz.workspace = true`).
//! 2. Create `src/experiments/<paper>.rs`, or a folder `src/experiments/<paper>/` with one
//!    file per experiment once it grows (one module per paper; the page is the
//!    [`PaperId`] whose metadata and claims live in [`paper::PAPERS`]), declare it in
//!    `src/experiments/mod.rs`.
//! 3. Write a typed preset (`#[derive(Serialize, Deserialize)] struct MyPreset`) with
//!    `fn for_mode(Mode) -> MyPreset` giving `Mode::Test` (seconds), `Mode::Quick` (the whole
//!    report stays under ~10 minutes on 2 cores) and `Mode::Full` (paper scale).
//! 4. Implement [`Experiment`] on a unit struct: `id` (kebab-case, unique), `paper`, `title`,
//!    `claim`, `preset` (`preset_value(&MyPreset::for_mode(mode))`), and `run`, which reads
//!    `ctx.preset::<MyPreset>()?`, draws randomness only from `ctx.rng(stream)`, calls
//!    `ctx.set_work(n)` once and `ctx.step()?` in its loops (progress, ETA and Ctrl-C), saves
//!    plots with `ctx.save_figure("name.svg", caption, |path| plot.save_svg(path))?` using
//!    [`plot`], and returns an [`Outcome`] of [`Table`]s (ours beside the paper's number with
//!    a [`Verdict`]) and notes. Bump `version()` when a code change alters its numbers.
//! 5. Append `Box::new(experiments::<paper>::MyExperiment)` to [`registry::registry`].
//! 6. `cargo test -p flow-bench` runs every registered experiment in `Mode::Test` and checks
//!    the report's structure; time `flows reproduce --quick` in release and note it.

pub mod cache;
pub mod cli;
pub mod context;
pub mod error;
pub mod experiment;
pub mod experiments;
pub mod lock;
pub mod machine;
pub mod merge;
pub mod overrides;
pub mod paper;
pub mod plot;
pub mod registry;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod timing;
pub mod validate;

pub use context::RunContext;
pub use error::BenchError;
pub use experiment::{
    Experiment, ExperimentError, Figure, Mode, Outcome, Row, Table, Verdict, preset_value,
};
pub use paper::PaperId;
pub use runner::{RunOptions, RunSummary, reproduce, reproduce_shard};
pub use schedule::Shard;

/// The Rust examples of the workspace README, compiled and run as doc tests so they cannot
/// rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
