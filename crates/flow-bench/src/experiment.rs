//! The experiment contract: what an experiment declares, what it returns, how it fails.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::paper::PaperId;

/// How big a run is. Every experiment maps each mode to a typed preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Tiny sizes for the test suite: seconds for the whole registry. Selected by `--smoke`
    /// and named `smoke` in `flows list --presets` and result files (`test` is still read).
    #[serde(rename = "smoke", alias = "test")]
    #[value(name = "smoke", alias = "test")]
    Test,
    /// The default: the whole report in minutes on 2 cores.
    Quick,
    /// Paper scale.
    Full,
}

impl Mode {
    /// The command-line flag that selects this mode.
    pub fn flag(self) -> &'static str {
        match self {
            Mode::Test => "--smoke",
            Mode::Quick => "--quick",
            Mode::Full => "--full",
        }
    }
}

/// One headline experiment of a paper.
///
/// Implementations are plain data (`Send + Sync`); all work happens in [`Experiment::run`],
/// which reads its typed preset back from the context with [`RunContext::preset`].
pub trait Experiment: Send + Sync {
    /// Stable kebab-case id, used on the command line and in result file names.
    fn id(&self) -> &'static str;
    /// The paper (or crate sanity page) whose report page shows this experiment.
    fn paper(&self) -> PaperId;
    /// A one-line title for the report section.
    fn title(&self) -> &'static str;
    /// What the paper claims that this experiment checks, in one or two sentences.
    fn claim(&self) -> &'static str;
    /// The typed preset for `mode`, serialised (see [`preset_value`]). The cache key hashes it.
    fn preset(&self, mode: Mode) -> serde_json::Value;
    /// Lower bounds of count fields this experiment's code needs beyond the generic ranges of
    /// [`crate::validate`] (checked before anything runs).
    fn preset_limits(&self) -> &'static [crate::validate::PresetLimit] {
        &[]
    }
    /// Constraints between fields of a resolved preset (e.g. `eval ≤ test`), checked before
    /// anything runs after the field ranges of [`crate::validate`] passed.
    ///
    /// # Errors
    /// A [`crate::validate::PresetError`] naming the field that breaks the constraint.
    fn check_preset(
        &self,
        _preset: &serde_json::Value,
    ) -> Result<(), crate::validate::PresetError> {
        Ok(())
    }
    /// Bump when the experiment's code changes its numbers, to invalidate cached results.
    fn version(&self) -> u32 {
        1
    }
    /// Whether a result of this experiment is a wall-clock measurement (a step time, a
    /// throughput, a speed-up judged against the paper). The runner runs such experiments
    /// alone, one after another and before everything else, so no other experiment shares the
    /// machine while they measure, and adds a machine description to their pages (see
    /// [`crate::schedule`] and [`crate::machine`]). Opt in with a one-line override.
    fn measures_time(&self) -> bool {
        false
    }
    /// Runs the experiment: tables, figures (written through the context) and notes.
    ///
    /// # Errors
    /// [`ExperimentError::Cancelled`] when the user pressed Ctrl-C (via
    /// [`RunContext::step`]); other variants for failures worth reporting.
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError>;
}

/// Serialises a typed preset for [`Experiment::preset`].
///
/// # Panics
/// If the preset cannot be represented as JSON (maps with non-string keys), a programmer error.
pub fn preset_value<P: Serialize>(preset: &P) -> serde_json::Value {
    serde_json::to_value(preset).expect("preset_value: preset must serialise to JSON")
}

/// What an experiment produces; the runner adds id, seed, timing and the rerun command.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Claimed-versus-measured tables.
    pub tables: Vec<Table>,
    /// Figures; the runner fills this from [`RunContext::save_figure`] calls.
    pub figures: Vec<Figure>,
    /// Free-text remarks (method details, caveats), one paragraph each.
    pub notes: Vec<String>,
}

/// A table of our numbers beside the paper's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Table {
    /// Caption shown above the table.
    pub caption: String,
    /// Header of the first column (the setting, e.g. "D, K").
    pub setting: String,
    /// Header of our measured column (e.g. "relative error").
    pub quantity: String,
    /// Rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// An empty table.
    pub fn new(caption: &str, setting: &str, quantity: &str) -> Table {
        Table {
            caption: caption.into(),
            setting: setting.into(),
            quantity: quantity.into(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(
        &mut self,
        setting: impl Into<String>,
        ours: f64,
        paper: impl Into<String>,
        verdict: Verdict,
    ) {
        self.rows.push(Row {
            setting: setting.into(),
            ours,
            paper: paper.into(),
            verdict,
        });
    }
}

/// One line of a [`Table`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// The setting (dimension, sample count, op name, ...).
    pub setting: String,
    /// Our measured number (non-finite values are reported as such; stored in JSON as the
    /// strings `"NaN"`, `"inf"`, `"-inf"`).
    #[serde(with = "finite_or_text")]
    pub ours: f64,
    /// The paper's number or the prediction we compare against, as text ("—" if none).
    pub paper: String,
    /// Whether ours agrees with the paper's within the stated tolerance.
    pub verdict: Verdict,
}

/// Agreement of a measured number with the claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Within the stated tolerance.
    Pass,
    /// Outside the stated tolerance.
    Fail,
    /// Informational: no tolerance applies.
    Info,
}

impl Verdict {
    /// `Pass` if `ok`, else `Fail`.
    pub fn check(ok: bool) -> Verdict {
        if ok { Verdict::Pass } else { Verdict::Fail }
    }

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "info",
        }
    }
}

/// A figure file (SVG) and its caption.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    /// Path relative to the output folder, with `/` separators (used as the `<img src>`).
    pub path: String,
    /// Caption.
    pub caption: String,
}

/// Why an experiment did not produce an [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The user pressed Ctrl-C; the partial experiment is abandoned.
    #[error("cancelled")]
    Cancelled,
    /// The stored preset does not match the experiment's preset type.
    #[error("bad preset: {0}")]
    Preset(#[from] serde_json::Error),
    /// A figure could not be drawn or written.
    #[error("plot {path}: {message}")]
    Plot {
        /// The figure file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Anything else the experiment wants to report.
    #[error("{0}")]
    Failed(String),
}

/// Serde for `f64` that survives JSON round trips of NaN and infinities (JSON has no such
/// numbers: serde_json would write `null` and then refuse to read it back).
mod finite_or_text {
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            v if v.is_finite() => s.serialize_f64(v),
            v if v.is_nan() => s.serialize_str("NaN"),
            v if v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) => t.parse::<f64>().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Row, Verdict};

    #[test]
    fn non_finite_numbers_survive_a_json_round_trip() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5e-300] {
            let row = Row {
                setting: "s".into(),
                ours: v,
                paper: "p".into(),
                verdict: Verdict::Info,
            };
            let back: Row = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
            assert!(
                back.ours == v || (v.is_nan() && back.ours.is_nan()),
                "{v} came back as {}",
                back.ours
            );
        }
    }
}
