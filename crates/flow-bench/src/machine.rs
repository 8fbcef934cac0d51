//! The machine a timing experiment ran on: CPU model, core counts and thread settings, stored
//! with its result and shown on its page, so a step time or a speed-up is read against the
//! hardware and the parallelism that produced it.

use serde::{Deserialize, Serialize};

/// Upper bound of matrixmultiply's GEMM thread pool (its `MAX_THREADS`, version 0.3).
pub const GEMM_MAX_THREADS: usize = 4;

/// What a timing result was measured on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model name (`model name` of `/proc/cpuinfo`; "unknown CPU" where it cannot be read).
    pub cpu: String,
    /// Logical cores the process may use (`std::thread::available_parallelism`).
    pub logical_cores: usize,
    /// Physical cores (distinct `physical id`/`core id` pairs of `/proc/cpuinfo`), if known.
    pub physical_cores: Option<usize>,
    /// Worker threads of the runner (`--threads`); a timing experiment runs with the others idle.
    pub worker_threads: usize,
    /// Threads of the GEMM pool (matrixmultiply: `MATMUL_NUM_THREADS`, else the physical core
    /// count, clamped to 1…[`GEMM_MAX_THREADS`]).
    pub gemm_threads: usize,
    /// Where [`MachineInfo::gemm_threads`] came from, in words.
    pub gemm_source: String,
    /// Whether the experiment ran with no other experiment running.
    pub alone: bool,
}

impl MachineInfo {
    /// Reads this machine's description; `worker_threads` is the runner's `--threads`.
    pub fn detect(worker_threads: usize, alone: bool) -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (cpu, physical_cores) = parse_cpuinfo(&cpuinfo);
        let logical_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let env = std::env::var("MATMUL_NUM_THREADS").ok();
        let (gemm_threads, gemm_source) =
            gemm_threads(env.as_deref(), physical_cores.unwrap_or(logical_cores));
        MachineInfo {
            cpu: cpu.unwrap_or_else(|| "unknown CPU".into()),
            logical_cores,
            physical_cores,
            worker_threads,
            gemm_threads,
            gemm_source,
            alone,
        }
    }

    /// One line for the report page.
    pub fn describe(&self) -> String {
        let physical = self
            .physical_cores
            .map_or(String::new(), |p| format!(", {p} physical"));
        let alone = if self.alone {
            "ran alone: no other experiment was running"
        } else {
            "shared the machine with other experiments"
        };
        format!(
            "{}, {} logical cores{physical}; runner --threads {}; GEMM threads {} ({}); {alone}",
            self.cpu, self.logical_cores, self.worker_threads, self.gemm_threads, self.gemm_source
        )
    }
}

/// `(model name, physical cores)` of a `/proc/cpuinfo` text (x86 and most ARM kernels).
pub fn parse_cpuinfo(text: &str) -> (Option<String>, Option<usize>) {
    let field = |line: &str, name: &str| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_string())
    };
    let cpu = text
        .lines()
        .find_map(|l| field(l, "model name").or_else(|| field(l, "Model")))
        .filter(|s| !s.is_empty());
    let mut cores = std::collections::BTreeSet::new();
    let mut package = String::new();
    for line in text.lines() {
        if let Some(p) = field(line, "physical id") {
            package = p;
        } else if let Some(c) = field(line, "core id") {
            cores.insert((package.clone(), c));
        }
    }
    (cpu, (!cores.is_empty()).then_some(cores.len()))
}

/// matrixmultiply's rule for its pool size: `MATMUL_NUM_THREADS` if set and non-empty (an
/// unparsable value means 1), else the physical core count; clamped to 1…[`GEMM_MAX_THREADS`].
pub fn gemm_threads(env: Option<&str>, physical: usize) -> (usize, String) {
    let (n, source) = match env {
        Some(s) if !s.is_empty() => match s.parse::<usize>() {
            Ok(n) => (n, format!("MATMUL_NUM_THREADS={s}")),
            Err(_) => (1, format!("MATMUL_NUM_THREADS={s} is not a number")),
        },
        _ => (physical, "physical cores; MATMUL_NUM_THREADS unset".into()),
    };
    (
        n.clamp(1, GEMM_MAX_THREADS),
        format!("{source}, at most {GEMM_MAX_THREADS}"),
    )
}

#[cfg(test)]
mod tests {
    use super::{gemm_threads, parse_cpuinfo};

    const TWO_CORES_FOUR_THREADS: &str = "processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 1\n\nprocessor\t: 2\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 3\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 1\n";

    #[test]
    fn cpuinfo_gives_model_and_physical_cores() {
        let (cpu, physical) = parse_cpuinfo(TWO_CORES_FOUR_THREADS);
        assert_eq!(cpu.as_deref(), Some("Test CPU @ 2.0GHz"));
        assert_eq!(physical, Some(2));
        assert_eq!(parse_cpuinfo(""), (None, None));
    }

    #[test]
    fn gemm_threads_follow_matrixmultiply() {
        assert_eq!(gemm_threads(None, 2).0, 2);
        assert_eq!(gemm_threads(None, 32).0, 4);
        assert_eq!(gemm_threads(Some(""), 3).0, 3);
        assert_eq!(gemm_threads(Some("1"), 8).0, 1);
        assert_eq!(gemm_threads(Some("0"), 8).0, 1);
        assert_eq!(gemm_threads(Some("x"), 8).0, 1);
        assert!(
            gemm_threads(Some("2"), 8)
                .1
                .contains("MATMUL_NUM_THREADS=2")
        );
    }
}
