"""Peak memory of the free-form (FFF) and EGNN training steps, ours against the JAX peers
(issue 14, BENCHMARKS.md "Peak memory").

    python3 crates/flow-bench/peers/memory.py [--threads 2] [--seconds 3]

Ours: the criterion bench binaries (`core`, `freeform`) run one workload with
`--profile-time SECONDS` (criterion's plain loop, no analysis); the peak RSS of that process
(GNU time's %M) minus the peak of the same binary run with a filter that matches nothing (the
same models and data built, no step taken) is the step's memory. JAX: the peer script with
`--only NAME --memory` reports the peak RSS above the RSS just before that workload
(compilation included), read from /proc. Both are the memory a step needs beyond its model and
data, in MiB; the models and batch sizes are those of the speed table.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

# (row, our bench, our filter, peer script, peer workload)
ROWS = [
    ("free-form step, MLP 8→256→256→8, batch 512", "core", "free_form_step$",
     "jax_steps.py", "free-form step"),
    ("free-form step, same, sharded in two (DataParallel)", "core", "free_form_step_sharded",
     "jax_steps.py", "free-form step"),
    ("E(3)-FFF step, EGNN DW4 (4 blocks, h32), batch 128", "freeform", "egnn_dw4_b128_fff_step$",
     "jax_egnn.py", "egnn_dw4_b128_fff_step"),
]


def bench_binary(name):
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "flow-bench", "--bench", name, "--no-run",
         "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == name \
                and msg.get("executable"):
            return msg["executable"]
    raise RuntimeError(f"no executable for bench {name}")


def peak_kb(cmd, env):
    out = subprocess.run(["/usr/bin/time", "-f", "PEAK %M"] + cmd, cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True)
    return int(re.search(r"PEAK (\d+)", out.stderr).group(1))


def ours(binary, filt, seconds, env):
    base = peak_kb([binary, "--bench", "--profile-time", "1", "no-workload-matches-this"], env)
    peak = peak_kb([binary, "--bench", "--profile-time", str(seconds), filt], env)
    return (peak - base) / 1024.0


def peer(script, workload, threads):
    out = subprocess.run([sys.executable, os.path.join(HERE, script), "--threads", str(threads),
                          "--only", workload, "--memory"] +
                         (["--quick"] if script == "jax_egnn.py" else []),
                         cwd=HERE, check=True, capture_output=True, text=True).stdout
    m = re.search(r"peak ([0-9.]+) MiB", out)
    return float(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=int, default=3)
    a = p.parse_args()
    env = dict(os.environ, FLOWS_THREADS=str(a.threads))
    print(f"threads={a.threads}; peak RSS above the model and data, MiB")
    print("| workload | ours | JAX | ours / JAX |")
    print("|---|---:|---:|---:|")
    for row, bench, filt, script, workload in ROWS:
        mine = ours(bench_binary(bench), filt, a.seconds, env)
        theirs = peer(script, workload, a.threads)
        print(f"| {row} | {mine:.1f} | {theirs:.1f} | {mine / theirs:.2f} |", flush=True)


if __name__ == "__main__":
    main()
