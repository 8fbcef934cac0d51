//! `--set EXPERIMENT:/json/pointer=VALUE`: change one field of an experiment's preset from the
//! command line, for long or exploratory runs between the quick and the full configuration.
//!
//! The pointer is an RFC 6901 JSON pointer into the preset that `flows list --presets MODE`
//! prints; the value is JSON (`20000`, `true`, `[64,64]`, `"adam"`), or a bare word taken as a
//! string. An override must name a field that exists and keep its JSON kind (a number stays a
//! number), so a typo fails before anything runs. Overridden presets hash differently, so
//! their results are cached beside the unmodified ones and never mistaken for them.

use std::str::FromStr;

use serde_json::Value;

use crate::error::BenchError;
use crate::experiment::{Experiment, Mode};

/// One parsed `--set` argument.
#[derive(Clone, Debug, PartialEq)]
pub struct PresetOverride {
    /// The experiment id.
    pub experiment: String,
    /// JSON pointer into its preset, e.g. `/0/steps`.
    pub pointer: String,
    /// The new value.
    pub value: Value,
}

impl FromStr for PresetOverride {
    type Err = String;

    /// Parses `EXPERIMENT:/pointer=VALUE`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{text}`: expected EXPERIMENT:/json/pointer=VALUE");
        let (experiment, rest) = text.split_once(':').ok_or_else(usage)?;
        let (pointer, raw) = rest.split_once('=').ok_or_else(usage)?;
        if experiment.is_empty() || !pointer.starts_with('/') {
            return Err(usage());
        }
        let value =
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.trim().to_string()));
        Ok(PresetOverride {
            experiment: experiment.to_string(),
            pointer: pointer.to_string(),
            value,
        })
    }
}

impl std::fmt::Display for PresetOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}={}", self.experiment, self.pointer, self.value)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The preset `exp` runs with in `mode` after the overrides that name it.
///
/// # Errors
/// [`BenchError::BadOverride`] if a pointer names no field of the preset or the new value is of
/// another JSON kind than the old one.
pub fn resolved_preset(
    exp: &dyn Experiment,
    mode: Mode,
    overrides: &[PresetOverride],
) -> Result<Value, BenchError> {
    let mut preset = exp.preset(mode);
    for o in overrides.iter().filter(|o| o.experiment == exp.id()) {
        let bad = |why: String| BenchError::BadOverride {
            setting: o.to_string(),
            why,
        };
        let slot = preset.pointer_mut(&o.pointer).ok_or_else(|| {
            bad(format!(
                "the {mode:?} preset has no field {} (`flows list --presets` prints them)",
                o.pointer
            ))
        })?;
        if kind(slot) != kind(&o.value) {
            return Err(bad(format!(
                "the field holds {} ({slot}), not {}",
                kind(slot),
                kind(&o.value)
            )));
        }
        *slot = o.value.clone();
    }
    Ok(preset)
}

/// Checks that every override names a selected experiment and applies cleanly, and that every
/// selected experiment's resolved preset passes [`crate::validate::check`] against the memory
/// available now.
///
/// # Errors
/// [`BenchError::BadOverride`] naming the first override that does not apply;
/// [`BenchError::Preset`] for the first out-of-range value.
pub fn validate(
    chosen: &[&dyn Experiment],
    mode: Mode,
    overrides: &[PresetOverride],
) -> Result<(), BenchError> {
    for o in overrides {
        if !chosen.iter().any(|e| e.id() == o.experiment) {
            return Err(BenchError::BadOverride {
                setting: o.to_string(),
                why: format!("experiment `{}` is not selected", o.experiment),
            });
        }
    }
    let memory = crate::validate::available_memory();
    for exp in chosen {
        let preset = resolved_preset(*exp, mode, overrides)?;
        crate::validate::check(*exp, &preset, memory)?;
    }
    Ok(())
}
