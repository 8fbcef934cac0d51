//! [`RunStore`]: where one finished part of a page (a `(method, seed)` run, one data set)
//! keeps its result and its training checkpoint in the page's work folder, so an interrupted
//! full run resumes without redoing the parts it finished.
//!
//! The files are `{key}.json` (the part's result, written once the part finishes) and
//! `{key}.safetensors` (the training checkpoint the part resumes from), both in
//! [`RunContext::work_dir`]; the runner removes the folder once the page is stored, and
//! `--redo` empties it. Without a work folder (tests, callers that give none) nothing is
//! stored and every part runs.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::RunContext;
use crate::experiment::ExperimentError;

/// The result file and checkpoint of one part of a page (both `None` without a work folder).
pub struct RunStore {
    result: Option<PathBuf>,
    /// The training checkpoint of the part.
    pub checkpoint: Option<PathBuf>,
}

impl RunStore {
    /// The files of part `key` (a file stem: letters, digits, `-`, `_`) in the page's work
    /// folder.
    ///
    /// # Errors
    /// [`ExperimentError::Failed`] if the work folder cannot be created.
    ///
    /// # Panics
    /// If `key` is empty or holds other characters (a programmer error: keys are built from
    /// enum names and numbers).
    pub fn new(ctx: &RunContext, key: &str) -> Result<RunStore, ExperimentError> {
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "RunStore::new: key `{key}` is not a plain file stem"
        );
        let dir = ctx.work_dir()?;
        Ok(RunStore {
            result: dir.map(|d| d.join(format!("{key}.json"))),
            checkpoint: dir.map(|d| d.join(format!("{key}.safetensors"))),
        })
    }

    /// The stored result, when an earlier run of the same page finished this part (an
    /// unreadable file counts as absent: the part is redone).
    pub fn load<R: DeserializeOwned>(&self) -> Option<R> {
        let text = std::fs::read_to_string(self.result.as_ref()?).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Stores a finished part's result (atomically: a run killed while writing leaves either
    /// no file or the whole one).
    ///
    /// # Errors
    /// [`ExperimentError::Failed`] if the file cannot be written.
    pub fn save<R: Serialize>(&self, r: &R) -> Result<(), ExperimentError> {
        let Some(f) = &self.result else {
            return Ok(());
        };
        let failed = |e: String| ExperimentError::Failed(format!("writing {}: {e}", f.display()));
        let json = serde_json::to_vec(r).map_err(|e| failed(e.to_string()))?;
        flow_core::io::write_atomically(f, &json).map_err(|e| failed(e.to_string()))
    }

    /// The stored result of part `key`, or `run(checkpoint)`'s, which is then stored: one
    /// resumable part of a page.
    ///
    /// # Errors
    /// `run`'s error, or a failed write of its result.
    pub fn cached<R: Serialize + DeserializeOwned>(
        ctx: &RunContext,
        key: &str,
        run: impl FnOnce(Option<PathBuf>) -> Result<R, ExperimentError>,
    ) -> Result<R, ExperimentError> {
        let store = RunStore::new(ctx, key)?;
        if let Some(r) = store.load() {
            return Ok(r);
        }
        let r = run(store.checkpoint.clone())?;
        store.save(&r)?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_part_is_stored_and_reused_and_nothing_without_a_work_folder() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext::for_test(serde_json::json!({}), dir.path());
        let calls = std::cell::Cell::new(0);
        let part = |ck: Option<PathBuf>| {
            calls.set(calls.get() + 1);
            assert!(ck.unwrap().ends_with("work/Volcano.safetensors"));
            Ok(vec![1.5, -2.0])
        };
        let a: Vec<f64> = RunStore::cached(&ctx, "Volcano", part).unwrap();
        let b: Vec<f64> = RunStore::cached(&ctx, "Volcano", part).unwrap();
        assert_eq!(
            (&a, calls.get()),
            (&b, 1),
            "the second call reads the stored result"
        );
        // A corrupt file counts as absent: the part runs again.
        std::fs::write(dir.path().join("work/Volcano.json"), "{").unwrap();
        let c: Vec<f64> = RunStore::cached(&ctx, "Volcano", part).unwrap();
        assert_eq!((&c, calls.get()), (&a, 2));
    }
}
