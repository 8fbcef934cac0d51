"""One command for the flow-core speed table of BENCHMARKS.md (issue 14): ours against JAX-jit
and flowjax, side by side on this machine, each workload measured on both sides back to back,
`--rounds` times.

    pip install jax flowjax            # CPU builds
    python3 crates/flow-bench/peers/compare.py [--rounds 4] [--threads 2] [--only core] [--workload hvp]

Ours: the criterion benches `core` (MLP, autoencoder, free-form step, input HVP), `coupling`
(RealNVP / NSF training steps) and `freeform` (the EGNN DW4 E(3)-FFF step), each also as a
data-parallel `*_sharded` step (two shards, one per core), medians read from
target/criterion/*/new/estimates.json. Peers: jax_steps.py, jax_egnn.py and
flowjax_coupling.py (medians they print). Peak memory: memory.py.

With the core rows (unless `--workload` leaves out the MLP step) it also prints the MLP step's
share of the machine's f32 GEMM rate (`examples/gemm_share.rs`: the step and flow-core's
[512,256]·[256,256] product alternated in one process, 2·`--rounds` rounds, the FLOP count
computed from the layer shapes) beside JAX's product rate on the same shape and on 2048³
(jax_gemm.py).

A round runs, for one workload at a time, our bench (the row and its sharded twin) and the
peer's, seconds apart, the side that goes first alternating between rounds. Each row reports
the median over rounds of each side's median, and the median and range over rounds of the
per-round ratio ours / peer (target: ≤ 0.8). On a shared VM whose speed drifts by up to 2×
within minutes the per-round ratio is the quantity to read; use `--rounds 5` or more to tell
0.8 from 1.0. The "fastest / fastest" column divides each side's fastest round: the drift
only ever slows a side down, so it reads the two on their quietest minute. The script prints
the CPU model and thread settings so a table is never separated from its machine, and probes the two cores' cache-line round trip
(`examples/core_distance.rs`) before, between and after the sides of every round: the last
column counts the rounds that saw the cores on different chiplets ("far"), where steps that
use both cores run slower (BENCHMARKS.md, session 19).
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

# (row label, our criterion full_id, peer key)
ROWS = [
    ("MLP 8→256→256→8 step, batch 512", "mlp-8-256-256-8-b512-f32/mlp_step", "jax:mlp step"),
    ("autoencoder step, same MLPs", "mlp-8-256-256-8-b512-f32/autoencoder_step", "jax:autoencoder step"),
    ("free-form step, same MLPs", "mlp-8-256-256-8-b512-f32/free_form_step", "jax:free-form step"),
    ("HVP w.r.t. input", "mlp-8-256-256-8-b512-f32/hvp_wrt_input", "jax:hvp wrt input"),
    ("RealNVP 2-D step", "coupling/realnvp_2d_train_step_b512", "flowjax:realnvp_2d"),
    ("RealNVP 8-D step", "coupling/realnvp_8d_train_step_b512", "flowjax:realnvp_8d"),
    ("NSF 2-D step", "coupling/nsf_2d_train_step_b512", "flowjax:nsf_2d"),
    ("NSF 8-D step", "coupling/nsf_8d_train_step_b512", "flowjax:nsf_8d"),
    ("E(3)-FFF step, EGNN DW4, batch 128", "freeform/egnn_dw4_b128_fff_step",
     "jax:freeform/egnn_dw4_b128_fff_step"),
]
# The same steps run data-parallel (`flow_core::train::DataParallel`, 2 shards, one per core):
# same loss and gradient up to round-off (the E(3)-FFF shards draw their own Hutchinson
# vectors), against the same peer numbers.
SHARDED = [(label + ", sharded", our_id + "_sharded", peer_id) for label, our_id, peer_id in ROWS]
ROWS = ROWS + SHARDED


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# The pairs each round runs back to back, one workload at a time: (group, our criterion bench,
# our filter, peer script and arguments). Measuring one workload on both sides seconds apart
# (session 14; before, each side ran all its workloads in turn, a minute or more apart) keeps
# the VM's drift out of the per-round ratio.
PAIRS = [
    ("core", "core", "mlp_step", ["jax_steps.py", "--only", "mlp step"]),
    ("core", "core", "autoencoder_step", ["jax_steps.py", "--only", "autoencoder step"]),
    ("core", "core", "free_form_step", ["jax_steps.py", "--only", "free-form step"]),
    ("core", "core", "hvp_wrt_input$|hvp_wrt_input_sharded", ["jax_steps.py", "--only", "hvp wrt input"]),
] + [
    ("coupling", "coupling", f"{m}_train_step_b512", ["flowjax_coupling.py", "--only", m])
    for m in ("realnvp_2d", "realnvp_8d", "nsf_2d", "nsf_8d")
] + [
    ("egnn", "freeform", "egnn_dw4_b128_fff_step",
     ["jax_egnn.py", "--only", "egnn_dw4_b128_fff_step"]),
]
GROUPS = {"all": {"core", "coupling", "egnn"}, "core": {"core"}, "coupling": {"coupling"},
          "egnn": {"egnn"}}


# The host places this VM's two vCPUs on one chiplet (a cache-line round trip of ~60 ns) or on
# two (~350 ns), and moves them every few seconds to minutes; one-graph steps that split small
# operations across the cores are slower in the far placement (BENCHMARKS.md, session 19).
FAR_NS = 200


def core_round_trip():
    """The cores' cache-line round trip now (ns), from `examples/core_distance.rs`."""
    out = subprocess.run([os.path.join(ROOT, "target", "release", "examples", "core_distance")],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) ns", out).group(1))


def run(cmd, env=None):
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout


def ours(threads, bench, filt):
    """Criterion medians (ms) of the benches `filt` selects (the row and its sharded twin)."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), FLOWS_THREADS=str(threads))
    started = time.time()
    run(["cargo", "bench", "-q", "-p", "flow-bench", "--bench", bench, "--", "--noplot",
         "--warm-up-time", "1", filt], env)
    result = {}
    for path in glob.glob(os.path.join(ROOT, "target", "criterion", "**", "new", "benchmark.json"),
                          recursive=True):
        if os.path.getmtime(path) < started:
            continue  # a result of an earlier run, not of this call
        with open(path) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(os.path.dirname(path), "estimates.json")) as f:
            result[full_id] = json.load(f)["median"]["point_estimate"] / 1e6  # ns → ms
    return result


def peer(threads, script):
    """The peer's median (ms) per workload it prints, keyed as in ROWS."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                        f"intra_op_parallelism_threads={threads}")
    args = script[1:] + (["--threads", str(threads)] if script[0] != "flowjax_coupling.py" else [])
    text = run([sys.executable, os.path.join(HERE, script[0])] + args, env)
    result = {}
    for line in text.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            result["flowjax:" + row["model"]] = row["median_ms"]
            continue
        m = re.match(r"^(.*): ([0-9.]+) ms$", line.strip())
        if m:
            result["jax:" + m.group(1)] = float(m.group(2))
    return result


def gemm_share(threads, rounds):
    """The MLP step's share of the GEMM rate (the example's table) and JAX's product rates."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), FLOWS_THREADS=str(threads))
    run(["cargo", "build", "-q", "--release", "-p", "flow-bench", "--example", "gemm_share"])
    ours_table = run([os.path.join(ROOT, "target", "release", "examples", "gemm_share"),
                      str(2 * rounds)], env)
    jax_env = dict(os.environ)
    jax_env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                            f"intra_op_parallelism_threads={threads}")
    jax_lines = run([sys.executable, os.path.join(HERE, "jax_gemm.py"), "--threads", str(threads)],
                    jax_env)
    return ours_table, jax_lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=sorted(GROUPS), default="all",
                        help="a part of the table: core (MLP, autoencoder, free-form, HVP), "
                             "coupling (RealNVP, NSF) or egnn")
    parser.add_argument("--workload", default="",
                        help="a regular expression: only the workloads whose bench filter or "
                             "peer arguments match it (e.g. 'hvp', 'free.form'), for more "
                             "rounds of one row")
    args = parser.parse_args()
    groups = GROUPS[args.only]
    try:
        wanted = re.compile(args.workload)
    except re.error as e:
        parser.error(f"--workload: {e}")
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1")
    samples_ours, samples_peer, placements = {}, {}, {}
    run(["cargo", "build", "-q", "--release", "-p", "flow-bench", "--example", "core_distance"])
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for group, bench, filt, script in PAIRS:
            if group not in groups or not wanted.search(f"{filt} {' '.join(script)}"):
                continue
            sides = [lambda: ours(args.threads, bench, filt), lambda: peer(args.threads, script)]
            trips, keys = [core_round_trip()], []
            # Alternate which side goes first, so a steady drift does not favour either.
            for side in (sides if r % 2 == 0 else sides[::-1]):
                for key, value in side().items():
                    which = samples_peer if ":" in key else samples_ours
                    which.setdefault(key, []).append(value)
                    keys.append(key)
                trips.append(core_round_trip())
            for key in keys:
                placements.setdefault(key, []).append(max(trips) > FAR_NS)
            print(f"  {filt}: core round trip {' / '.join(f'{t:.0f}' for t in trips)} ns",
                  file=sys.stderr, flush=True)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores, {args.threads} threads each side, "
          f"{args.rounds} rounds, each workload measured on both sides back to back\n")
    print("| workload | ours (median) | peer (median) | ours / peer, median of rounds | range "
          "| fastest / fastest | rounds with far cores |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for label, our_id, peer_id in ROWS:
        far = placements.get(our_id, [])
        o, p = samples_ours.get(our_id, []), samples_peer.get(peer_id, [])
        peer_name = peer_id.split(":")[0]
        if not o and not p:
            continue  # a row of a group not run (--only)
        if len(o) != args.rounds or len(p) != args.rounds:
            print(f"| {label} | {'—' if not o else f'{statistics.median(o):.2f} ms'} | "
                  f"{'—' if not p else f'{statistics.median(p):.2f} ms'} | missing | | | |")
            continue
        ratios = sorted(a / b for a, b in zip(o, p))
        print(f"| {label} | {statistics.median(o):.2f} ms | {peer_name} {statistics.median(p):.2f} ms | "
              f"{statistics.median(ratios):.2f} | {ratios[0]:.2f}–{ratios[-1]:.2f} | "
              f"{min(o) / min(p):.2f} | {sum(far)} of {len(far)} |")
    if "core" in groups and wanted.search("mlp_step gemm share"):
        ours_table, jax_lines = gemm_share(args.threads, args.rounds)
        print("\n" + ours_table.rstrip())
        print("\nJAX's product, best of 15 blocks, same threads: " +
              "; ".join(line.strip() for line in jax_lines.splitlines() if line.strip()))
        print("\nTarget (issue 14): the MLP step at ≥ 70 % of the machine's f32 GEMM rate.")
    print(f"\nA round counts as far when the two cores' cache-line round trip "
          f"(`examples/core_distance.rs`), probed before, between and after its two sides, "
          f"exceeded {FAR_NS} ns at least once.")


if __name__ == "__main__":
    main()
