//! Preset validation before anything runs: every value of a resolved preset (the mode's preset
//! after `--set` overrides) is checked for its shape against the experiment's own presets and
//! for its range by field name, and sizes are bounded by a memory estimate against the memory
//! the machine has available. A violation is a [`PresetError`] naming the experiment, the JSON
//! pointer, the value and what is allowed, so no meaningless value reaches a library assert or
//! an allocation that aborts the process.
//!
//! Ranges are keyed by field name (`steps`, `samples`, `sigma`, ...) wherever the field appears
//! in a preset, including inside enum payloads such as `/toys/2/EightGaussians/sigma`; the
//! structural pass compares against the union of the experiment's Test, Quick and Full presets
//! (unknown or missing object keys, integers given as fractions, a changed JSON kind).

use serde_json::Value;

use crate::experiment::{Experiment, Mode};

/// A preset value outside what the experiment can run with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("preset of `{experiment}`: {pointer} = {value} is not allowed; allowed: {allowed}")]
pub struct PresetError {
    /// The experiment id.
    pub experiment: String,
    /// RFC 6901 JSON pointer to the offending value.
    pub pointer: String,
    /// The value as JSON text.
    pub value: String,
    /// The allowed range or shape, in words.
    pub allowed: String,
}

/// A lower bound of a count field that one experiment's code needs beyond the generic one
/// (e.g. a fit that needs two rows), from [`Experiment::preset_limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresetLimit {
    /// The field name, wherever it appears in the preset.
    pub field: &'static str,
    /// The smallest value accepted.
    pub min: u64,
    /// The largest value accepted ([`MAX_COUNT`] where only the generic bound applies).
    pub max: u64,
}

mod rules;

pub use rules::MAX_COUNT;
use rules::{Allowed, rules};

/// Memory the machine has available now (`MemAvailable` of `/proc/meminfo`), or 8 GiB where
/// that cannot be read.
pub fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
        .unwrap_or(8 << 30)
}

/// Checks `preset` (what `exp` would run with in `mode`) against the experiment's own presets
/// and the field rules, with `memory` bytes available.
///
/// ```
/// use flow_bench::registry::registry;
/// use flow_bench::{Mode, validate};
///
/// let all = registry();
/// let gallery = all.iter().find(|e| e.id() == "data-gallery").unwrap();
/// let mut preset = gallery.preset(Mode::Test);
/// assert!(validate::check(gallery.as_ref(), &preset, 1 << 30).is_ok());
/// preset["grid"] = serde_json::json!(0);
/// let e = validate::check(gallery.as_ref(), &preset, 1 << 30).unwrap_err();
/// assert_eq!((e.pointer.as_str(), e.value.as_str()), ("/grid", "0"));
/// ```
///
/// # Errors
/// The first [`PresetError`] found, in document order.
pub fn check(exp: &dyn Experiment, preset: &Value, memory: u64) -> Result<(), PresetError> {
    let templates: Vec<Value> = [Mode::Test, Mode::Quick, Mode::Full]
        .into_iter()
        .map(|m| exp.preset(m))
        .collect();
    let refs: Vec<&Value> = templates.iter().collect();
    let mut walker = Walker {
        experiment: exp.id(),
        memory,
        limits: exp.preset_limits(),
    };
    walker.walk(preset, &refs, "", None)?;
    exp.check_preset(preset)
}

/// For [`Experiment::check_preset`]: the integer at `small` (a JSON pointer) must not exceed
/// the one at `large`; missing or non-integer fields are left to the other checks.
///
/// # Errors
/// A [`PresetError`] at `small` naming the bound.
pub fn not_above(
    experiment: &str,
    preset: &Value,
    small: &str,
    large: &str,
) -> Result<(), PresetError> {
    let get = |p: &str| preset.pointer(p).and_then(Value::as_u64);
    match (get(small), get(large)) {
        (Some(a), Some(b)) if a > b => Err(PresetError {
            experiment: experiment.to_string(),
            pointer: small.to_string(),
            value: a.to_string(),
            allowed: format!("at most {large} = {b}"),
        }),
        _ => Ok(()),
    }
}

struct Walker<'a> {
    experiment: &'a str,
    memory: u64,
    limits: &'static [PresetLimit],
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn is_variant(key: &str) -> bool {
    key.chars().next().is_some_and(char::is_uppercase)
}

impl Walker<'_> {
    fn fail(&self, pointer: &str, value: &Value, allowed: impl Into<String>) -> PresetError {
        PresetError {
            experiment: self.experiment.to_string(),
            pointer: if pointer.is_empty() {
                "/".into()
            } else {
                pointer.into()
            },
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// Checks `value` at `pointer` against `templates` (the values at the same place in the
    /// experiment's presets) and the rules of `field`, the name of the enclosing key.
    fn walk(
        &mut self,
        value: &Value,
        templates: &[&Value],
        pointer: &str,
        field: Option<&str>,
    ) -> Result<(), PresetError> {
        self.shape(value, templates, pointer)?;
        if let Some(field) = field {
            for rule in rules(field) {
                self.range(value, *rule, pointer)?;
            }
            for limit in self.limits.iter().filter(|l| l.field == field) {
                let rule = Allowed::Count {
                    min: limit.min,
                    max: limit.max,
                };
                self.range(value, rule, pointer)?;
            }
        }
        match value {
            Value::Object(map) => {
                let objects: Vec<&serde_json::Map<String, Value>> =
                    templates.iter().filter_map(|t| t.as_object()).collect();
                for (key, child) in map {
                    let sub: Vec<&Value> = objects.iter().filter_map(|o| o.get(key)).collect();
                    let here = format!("{pointer}/{}", escape(key));
                    // An enum payload (`{"EightGaussians": {...}}`) keeps the field name of
                    // the enum's own field, so `/toys/2/EightGaussians/sigma` is `sigma`.
                    let name = if is_variant(key) {
                        None
                    } else {
                        Some(key.as_str())
                    };
                    self.walk(child, &sub, &here, name)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                let sub: Vec<&Value> = templates
                    .iter()
                    .filter_map(|t| t.as_array())
                    .flatten()
                    .collect();
                for (i, item) in items.iter().enumerate() {
                    self.walk(item, &sub, &format!("{pointer}/{i}"), None)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Structure against the templates: known object keys, no missing keys, integers stay
    /// integers (non-negative where the presets are), the JSON kind stays.
    fn shape(&self, value: &Value, templates: &[&Value], pointer: &str) -> Result<(), PresetError> {
        if templates.is_empty() || value.is_null() || templates.iter().any(|t| t.is_null()) {
            return Ok(());
        }
        let same_kind = |t: &&Value| std::mem::discriminant(*t) == std::mem::discriminant(value);
        if !templates.iter().any(same_kind) {
            // Enum values may be a bare word or a one-key object; serde checks those.
            let enum_like = |v: &Value| {
                v.is_string()
                    || v.as_object()
                        .is_some_and(|o| o.keys().all(|k| is_variant(k)))
            };
            if enum_like(value) && templates.iter().all(|t| enum_like(t)) {
                return Ok(());
            }
            return Err(self.fail(pointer, value, format!("the JSON kind of {}", templates[0])));
        }
        match value {
            Value::Object(map) => {
                let objects: Vec<_> = templates.iter().filter_map(|t| t.as_object()).collect();
                for key in map.keys().filter(|k| !is_variant(k)) {
                    if !objects.iter().any(|o| o.contains_key(key)) {
                        let known: Vec<&str> = objects
                            .iter()
                            .flat_map(|o| o.keys())
                            .map(String::as_str)
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        return Err(self.fail(
                            &format!("{pointer}/{}", escape(key)),
                            &map[key],
                            format!("no field `{key}` here; known fields: {}", known.join(", ")),
                        ));
                    }
                }
                if let Some(missing) = objects
                    .iter()
                    .filter(|o| !o.keys().any(|k| is_variant(k)))
                    .flat_map(|o| o.keys())
                    .find(|k| objects.iter().all(|o| o.contains_key(*k)) && !map.contains_key(*k))
                {
                    return Err(self.fail(
                        pointer,
                        value,
                        format!("an object with the field `{missing}`"),
                    ));
                }
                Ok(())
            }
            Value::Number(n) => {
                let numbers: Vec<_> = templates.iter().filter_map(|t| t.as_number()).collect();
                if numbers.iter().all(|t| t.is_u64()) && !n.is_u64() {
                    return Err(self.fail(pointer, value, "a non-negative integer"));
                }
                if numbers.iter().all(|t| t.is_i64() || t.is_u64()) && n.is_f64() {
                    return Err(self.fail(pointer, value, "an integer"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn range(&self, value: &Value, rule: Allowed, pointer: &str) -> Result<(), PresetError> {
        match (rule, value) {
            (Allowed::NonEmpty, Value::Array(items)) if items.is_empty() => {
                Err(self.fail(pointer, value, "a non-empty list"))
            }
            (Allowed::Count { .. } | Allowed::Size { .. }, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.range(item, rule, &format!("{pointer}/{i}"))?;
                }
                Ok(())
            }
            (Allowed::Count { min, max }, Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Ok(()),
                _ => Err(self.fail(pointer, value, format!("an integer in {min}..={max}"))),
            },
            (Allowed::Size { bytes, power }, Value::Number(n)) => {
                let need = n.as_f64().unwrap_or(f64::INFINITY).powi(power) * bytes;
                if need <= self.memory as f64 {
                    return Ok(());
                }
                let most = (self.memory as f64 / bytes)
                    .powf(1.0 / f64::from(power))
                    .floor();
                Err(self.fail(
                    pointer,
                    value,
                    format!(
                        "at most {most} here: this size needs about {:.1} GiB by the estimate of {bytes} bytes per item, and {:.1} GiB of memory is available",
                        need / f64::from(1u32 << 30),
                        self.memory as f64 / f64::from(1u32 << 30)
                    ),
                ))
            }
            (
                Allowed::Real {
                    lo,
                    lo_open,
                    hi,
                    hi_open,
                },
                Value::Number(n),
            ) => {
                let v = n.as_f64().unwrap_or(f64::NAN);
                let above = if lo_open { v > lo } else { v >= lo };
                let below = if hi_open { v < hi } else { v <= hi };
                if above && below && v.is_finite() {
                    return Ok(());
                }
                let (l, h) = (
                    if lo_open { "(" } else { "[" },
                    if hi_open { ")" } else { "]" },
                );
                let hi_text = if hi == f64::MAX {
                    "∞".to_string()
                } else {
                    hi.to_string()
                };
                Err(self.fail(pointer, value, format!("a number in {l}{lo}, {hi_text}{h}")))
            }
            _ => Ok(()),
        }
    }
}
