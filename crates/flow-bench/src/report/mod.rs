//! The report: one page per paper (HTML and Markdown) with claims, claimed-versus-measured
//! tables, SVG figures, seeds, timings and rerun commands, plus an index page and a summary
//! CSV. Pages are rebuilt from the results on disk, so they cover every finished experiment of
//! the current mode and seed, whether it ran now or earlier.

mod html;
mod markdown;

use std::path::{Path, PathBuf};

use crate::cache::{ExperimentResult, RESULTS_DIR, ResultKey, csv_field, write_atomic};
use crate::error::BenchError;
use crate::experiment::{Experiment, Mode, Verdict};
use crate::paper::{PaperId, PaperInfo};

/// What happened to an experiment in this call.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Ran now and finished.
    Ran,
    /// Result found on disk (from an earlier call).
    Cached,
    /// Ran now and failed (reason).
    Failed(String),
    /// No result for this mode and seed yet.
    Missing,
}

impl Status {
    /// Short label.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Ran => "ran",
            Status::Cached => "cached",
            Status::Failed(_) => "failed",
            Status::Missing => "not run",
        }
    }
}

/// One registered experiment as the report sees it.
pub struct Entry<'a> {
    /// The experiment.
    pub experiment: &'a dyn Experiment,
    /// Its result key for the current mode and seed.
    pub key: ResultKey,
    /// Its result, if one is on disk.
    pub result: Option<ExperimentResult>,
    /// What happened to it in this call.
    pub status: Status,
    /// The exact command that (re)runs it into the same folder.
    pub command: String,
}

impl Entry<'_> {
    /// `(passes, failures)` over all table rows.
    pub fn verdicts(&self) -> (usize, usize) {
        let rows = self
            .result
            .iter()
            .flat_map(|r| r.outcome.tables.iter())
            .flat_map(|t| t.rows.iter());
        rows.fold((0, 0), |(p, f), row| match row.verdict {
            Verdict::Pass => (p + 1, f),
            Verdict::Fail => (p, f + 1),
            Verdict::Info => (p, f),
        })
    }
}

/// Facts about the call that wrote the report.
#[derive(Clone, Copy, Debug)]
pub struct RunInfo {
    /// Mode.
    pub mode: Mode,
    /// Seed.
    pub seed: u64,
    /// Wall time of the call so far, in seconds.
    pub seconds: f64,
}

impl RunInfo {
    /// The command that reproduces the whole report.
    pub fn command(&self) -> String {
        format!(
            "cargo run --release -p flow-bench --bin flows -- reproduce {} --seed {}",
            self.mode.flag(),
            self.seed
        )
    }
}

/// Writes every paper page, the index and `results/summary.csv`; returns the index page path.
///
/// # Errors
/// [`BenchError::Io`] if a page cannot be written.
pub fn write(out: &Path, entries: &[Entry<'_>], run: &RunInfo) -> Result<PathBuf, BenchError> {
    for paper in PaperId::ALL {
        let info = paper.info();
        let mine: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.experiment.paper() == paper)
            .collect();
        write_atomic(
            &out.join(format!("{}.md", info.slug)),
            markdown::paper_page(info, &mine, run).as_bytes(),
        )?;
        write_atomic(
            &out.join(format!("{}.html", info.slug)),
            html::paper_page(info, &mine, run).as_bytes(),
        )?;
    }
    write_atomic(
        &out.join("index.md"),
        markdown::index(entries, run).as_bytes(),
    )?;
    let index = out.join("index.html");
    write_atomic(&index, html::index(entries, run).as_bytes())?;
    write_atomic(
        &out.join(RESULTS_DIR).join("summary.csv"),
        summary_csv(entries).as_bytes(),
    )?;
    Ok(index)
}

/// Papers with at least one registered experiment come first in the index.
pub fn papers_in_order(entries: &[Entry<'_>]) -> Vec<&'static PaperInfo> {
    let has = |p: PaperId| entries.iter().any(|e| e.experiment.paper() == p);
    let (with, without): (Vec<PaperId>, Vec<PaperId>) = PaperId::ALL.iter().partition(|p| has(**p));
    with.into_iter().chain(without).map(PaperId::info).collect()
}

fn summary_csv(entries: &[Entry<'_>]) -> String {
    let mut csv = String::from("experiment,paper,mode,seed,status,seconds,pass,fail,result\n");
    for e in entries {
        let (pass, fail) = e.verdicts();
        let seconds = e
            .result
            .as_ref()
            .map_or(String::new(), |r| format!("{:.3}", r.seconds));
        let json = e
            .result
            .as_ref()
            .map_or(String::new(), |_| format!("{}.json", e.key.stem()));
        let mode = e
            .result
            .as_ref()
            .map_or("", |r| r.mode.flag().trim_start_matches('-'));
        let row = [
            csv_field(e.experiment.id()),
            e.experiment.paper().info().slug.to_string(),
            mode.to_string(),
            e.key.seed.to_string(),
            e.status.label().to_string(),
            seconds,
            pass.to_string(),
            fail.to_string(),
            json,
        ];
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

/// A number for a table: 4 significant digits, scientific outside [1e-3, 1e5).
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

/// Seconds as `1.2 s`, `3 min 04 s`.
pub fn format_seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar).
pub fn format_unix(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::{format_number, format_seconds, format_unix};

    #[test]
    fn unix_times_format_as_utc_dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_unix(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(1234.4), "1234");
        assert_eq!(format_number(2.5e-9), "2.500e-9");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_seconds(125.0), "2 min 05 s");
        assert_eq!(format_seconds(0.0123), "12 ms");
    }
}
