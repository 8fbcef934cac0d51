//! The runner's phases: timing experiments run first and alone (fake experiments log when
//! they start and end; no clock is read).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressDrawTarget};

use super::{RunOptions, prepare_output, run_phases};
use crate::cache::{self, ResultKey};
use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome};
use crate::paper::PaperId;

/// Events `(experiment, started?, other experiments running at that moment)`.
type Log = Arc<Mutex<Vec<(&'static str, bool, usize)>>>;

/// `(experiment, flow_core::parallel::threads() inside its run)`.
type Threads = Arc<Mutex<Vec<(&'static str, usize)>>>;

struct Fake {
    id: &'static str,
    timing: bool,
    running: Arc<AtomicUsize>,
    log: Log,
    threads: Threads,
}

impl Experiment for Fake {
    fn id(&self) -> &'static str {
        self.id
    }
    fn paper(&self) -> PaperId {
        PaperId::ALL[0]
    }
    fn title(&self) -> &'static str {
        "fake"
    }
    fn claim(&self) -> &'static str {
        "fake"
    }
    fn preset(&self, _: Mode) -> serde_json::Value {
        serde_json::json!({})
    }
    fn measures_time(&self) -> bool {
        self.timing
    }
    fn run(&self, _: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let others = self.running.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push((self.id, true, others));
        let threads = flow_core::parallel::threads();
        self.threads.lock().unwrap().push((self.id, threads));
        // Some work, so that jobs scheduled side by side would overlap.
        std::hint::black_box((0..20_000).map(|i| f64::from(i).sqrt()).sum::<f64>());
        let others = self.running.fetch_sub(1, Ordering::SeqCst) - 1;
        self.log.lock().unwrap().push((self.id, false, others));
        Ok(Outcome::default())
    }
}

#[test]
fn timing_experiments_run_first_and_alone() {
    let dir = tempfile::tempdir().unwrap();
    prepare_output(dir.path()).unwrap();
    let (running, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let threads = Threads::default();
    let ids = [
        ("a", false),
        ("t1", true),
        ("b", false),
        ("c", false),
        ("t2", true),
    ];
    let fakes: Vec<Fake> = ids
        .iter()
        .map(|&(id, timing)| Fake {
            id,
            timing,
            running: running.clone(),
            log: log.clone(),
            threads: threads.clone(),
        })
        .collect();
    let opts = RunOptions {
        papers: Vec::new(),
        experiments: Vec::new(),
        mode: Mode::Test,
        seed: 0,
        out: dir.path().to_path_buf(),
        threads: 3,
        redo: false,
        progress: false,
        overrides: Vec::new(),
    };
    let jobs = fakes
        .iter()
        .map(|f| (f as &dyn Experiment, opts.key_of(f)))
        .collect();
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
    let outcomes = run_phases(jobs, &opts, &multi, &Arc::new(AtomicBool::new(false)));
    assert!(outcomes.iter().all(|(_, o)| o.is_ok()), "{outcomes:?}");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2 * ids.len());
    // The timing experiments start and end, back to back, before anything else starts.
    let head: Vec<_> = log[..4]
        .iter()
        .map(|&(id, start, n)| (id, start, n))
        .collect();
    assert_eq!(
        head,
        [
            ("t1", true, 0),
            ("t1", false, 0),
            ("t2", true, 0),
            ("t2", false, 0)
        ]
    );
    // Side by side, each job's compute threads are its share of the setting (3 workers share
    // 3 threads: 1 each); alone, a timing job may use the whole setting.
    let alone_threads = flow_core::parallel::thread_setting().0.min(3);
    for &(id, n) in threads.lock().unwrap().iter() {
        let timing = id.starts_with('t');
        assert_eq!(n, if timing { alone_threads } else { 1 }, "{id}");
    }
    for f in &fakes {
        let result = cache::load(dir.path(), &ResultKey::new(f, Mode::Test, 0)).unwrap();
        assert_eq!(result.machine.is_some(), f.timing, "{}", f.id);
        assert!(
            result
                .machine
                .is_none_or(|m| m.alone && m.worker_threads == 3)
        );
    }
}
