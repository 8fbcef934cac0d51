//! What an experiment sees while it runs: mode, seed, typed preset, figure folder, progress
//! bar with ETA, and the Ctrl-C flag.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde::de::DeserializeOwned;

use crate::experiment::{ExperimentError, Figure, Mode};
use crate::plot::PlotError;

/// The run-time environment of one experiment.
pub struct RunContext {
    /// Size of the run.
    pub mode: Mode,
    /// Base seed; derive streams with [`RunContext::rng`].
    pub seed: u64,
    preset: serde_json::Value,
    write_dir: PathBuf,
    link_dir: String,
    progress: ProgressBar,
    cancel: Arc<AtomicBool>,
    figures: Vec<Figure>,
    work_dir: Option<PathBuf>,
}

impl RunContext {
    /// A context that writes figures into `write_dir` and records them under `link_dir` (the
    /// folder, relative to the output folder and `/`-separated, where the runner moves them
    /// once the experiment has finished).
    pub fn new(
        mode: Mode,
        seed: u64,
        preset: serde_json::Value,
        write_dir: PathBuf,
        link_dir: String,
        progress: ProgressBar,
        cancel: Arc<AtomicBool>,
    ) -> RunContext {
        RunContext {
            mode,
            seed,
            preset,
            write_dir,
            link_dir,
            progress,
            cancel,
            figures: Vec::new(),
            work_dir: None,
        }
    }

    /// Gives the experiment a scratch folder that survives an interrupted run (the runner uses
    /// `OUT/work/<result stem>/`, removes it once the result is stored, and empties it on
    /// `--redo`).
    pub fn with_work_dir(mut self, dir: PathBuf) -> RunContext {
        self.work_dir = Some(dir);
        self
    }

    /// The scratch folder for resumable state (training checkpoints), created on first use;
    /// `None` when the caller gave none (then nothing is resumable).
    ///
    /// # Errors
    /// [`ExperimentError::Failed`] if the folder cannot be created.
    pub fn work_dir(&self) -> Result<Option<&Path>, ExperimentError> {
        match &self.work_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ExperimentError::Failed(format!("creating {}: {e}", dir.display()))
                })?;
                Ok(Some(dir.as_path()))
            }
            None => Ok(None),
        }
    }

    /// The experiment's typed preset, as stored in the cache key.
    ///
    /// # Errors
    /// [`ExperimentError::Preset`] if the stored preset does not deserialise into `P`.
    pub fn preset<P: DeserializeOwned>(&self) -> Result<P, ExperimentError> {
        Ok(serde_json::from_value(self.preset.clone())?)
    }

    /// A deterministic RNG for stream `stream` of this run's seed (independent streams for
    /// independent parts of an experiment).
    pub fn rng(&self, stream: u64) -> Xoshiro256PlusPlus {
        let mixed =
            self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_add(1).rotate_left(32);
        Xoshiro256PlusPlus::seed_from_u64(mixed)
    }

    /// Declares the total amount of work (progress steps) for the ETA.
    pub fn set_work(&self, steps: u64) {
        self.progress.set_length(steps);
        self.progress.set_position(0);
    }

    /// Sets the progress message (the current sub-task).
    pub fn set_message(&self, message: impl Into<String>) {
        self.progress.set_message(message.into());
    }

    /// Advances progress by one step and checks for Ctrl-C. Call it in every long loop.
    ///
    /// # Errors
    /// [`ExperimentError::Cancelled`] once the user pressed Ctrl-C.
    pub fn step(&self) -> Result<(), ExperimentError> {
        self.progress.inc(1);
        self.check_cancelled()
    }

    /// The Ctrl-C flag, for loops that poll it themselves (the training engine's
    /// [`flow_core::train::Trainer::with_cancel_flag`]).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Checks for Ctrl-C without advancing.
    ///
    /// # Errors
    /// [`ExperimentError::Cancelled`] once the user pressed Ctrl-C.
    pub fn check_cancelled(&self) -> Result<(), ExperimentError> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(ExperimentError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Draws a figure into this experiment's figure folder as `file_name` (an `.svg` name)
    /// and records it with `caption`; the runner adds recorded figures to the outcome, in
    /// the order they were saved.
    ///
    /// # Errors
    /// [`ExperimentError::Plot`] if drawing or writing fails.
    pub fn save_figure(
        &mut self,
        file_name: &str,
        caption: impl Into<String>,
        draw: impl FnOnce(&Path) -> Result<(), PlotError>,
    ) -> Result<(), ExperimentError> {
        let dir = &self.write_dir;
        let path = dir.join(file_name);
        let plot_err = |message: String| ExperimentError::Plot {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| plot_err(e.to_string()))?;
        draw(&path).map_err(|e| plot_err(e.to_string()))?;
        let figure = Figure {
            path: format!("{}/{}", self.link_dir, file_name),
            caption: caption.into(),
        };
        self.figures.push(figure);
        Ok(())
    }

    /// Takes the figures saved so far (the runner moves them into the outcome).
    pub fn take_figures(&mut self) -> Vec<Figure> {
        std::mem::take(&mut self.figures)
    }
}

#[cfg(test)]
impl RunContext {
    /// A test-mode context for `preset` (seed 0, hidden progress) with figures in
    /// `dir/figures` and the work folder in `dir/work`: what experiment smoke tests run in.
    pub(crate) fn for_test(preset: serde_json::Value, dir: &Path) -> RunContext {
        RunContext::new(
            Mode::Test,
            0,
            preset,
            dir.join("figures"),
            "figures".into(),
            ProgressBar::hidden(),
            Arc::new(AtomicBool::new(false)),
        )
        .with_work_dir(dir.join("work"))
    }
}
