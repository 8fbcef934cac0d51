"""Peak resident memory of one workload, read from /proc (Linux): the process's RSS just before
the workload starts is the baseline, the high-water mark is reset (`/proc/self/clear_refs`,
value 5) and read after it. Used by the peers' `--memory` option and by `memory.py`."""


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


class PeakAbove:
    """`with PeakAbove() as p: work()` then `p.mb`: peak RSS during `work` above the RSS
    before it, in MiB."""

    def __enter__(self):
        self.base = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return self

    def __exit__(self, *exc):
        self.mb = (_status_kb("VmHWM") - self.base) / 1024.0
        return False
