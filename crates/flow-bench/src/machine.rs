//! The machine a timing experiment ran on: CPU model, core counts and thread settings, stored
//! with its result and shown on its page, so a step time or a speed-up is read against the
//! hardware and the parallelism that produced it.

use serde::{Deserialize, Serialize};

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
    /// Threads a large matrix product uses: flow-core's faer GEMM runs on
    /// `flow_core::parallel::gemm_threads()` (the one thread setting).
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
        let (gemm_threads, gemm_source) = gemm_threads();
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

/// The GEMM's thread count and where it came from: flow-core's faer GEMM uses
/// `flow_core::parallel::gemm_threads()`, which follows `--threads` / `FLOWS_THREADS` / the
/// core count (see `flow_core::parallel`).
pub fn gemm_threads() -> (usize, String) {
    use flow_core::parallel::{ThreadSource, thread_setting};
    let source = match thread_setting().1 {
        ThreadSource::Explicit => "--threads",
        ThreadSource::Environment => "FLOWS_THREADS",
        ThreadSource::Cores => "available cores",
    };
    (
        flow_core::parallel::gemm_threads(),
        format!("faer GEMM on flow_core::parallel, set by {source}"),
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
    fn gemm_threads_follow_the_thread_setting() {
        let (n, source) = gemm_threads();
        assert_eq!(n, flow_core::parallel::gemm_threads());
        assert!(source.contains("faer GEMM"), "{source}");
    }
}
