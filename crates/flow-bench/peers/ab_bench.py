"""A/B timing of two builds of one criterion bench binary, alternated, for flow-core changes
(issue 14). On this shared VM the speed drifts by up to 2x within minutes, so only ratios of
runs taken seconds apart mean anything: each round runs A then B on the same filter, and the
script reports per bench the median over rounds of B/A with its range.

    cargo bench --no-run -p flow-bench --bench core     # build A, copy the binary
    # ... change flow-core, build B, copy it ...
    python3 crates/flow-bench/peers/ab_bench.py A_BIN B_BIN --filter 'mlp_step|free_form_step' --rounds 8

Bench binaries are target/release/deps/<bench>-<hash>; copy them before rebuilding.
"""
import argparse
import collections
import os
import re
import statistics
import subprocess

UNIT_MS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
LINE = re.compile(r"^(\S+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) ")


def medians(binary, filt, threads):
    """Criterion's median (ms) per bench id of one run of `binary`."""
    if threads > 0:
        env = dict(os.environ, FLOWS_THREADS=str(threads), RAYON_NUM_THREADS=str(threads))
    else:  # what a library user gets: no thread variables, flow-core resolves the cores
        env = {k: v for k, v in os.environ.items() if k not in ("FLOWS_THREADS", "RAYON_NUM_THREADS")}
    out = subprocess.run([binary, "--bench", filt, "--noplot"], env=env, check=True,
                         capture_output=True, text=True).stdout
    # criterion prints "<id>" and "time: [...]" on one line, or on two when the id is long
    joined = re.sub(r"\n\s+time:", " time:", out)
    result = {}
    for line in joined.splitlines():
        m = LINE.match(line.strip())
        if m:
            result[m.group(1)] = float(m.group(2)) * UNIT_MS[m.group(3)]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--filter", default="")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2,
                        help="FLOWS_THREADS for both; 0 leaves it unset (the cores)")
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 0:
        parser.error("--rounds must be at least 1 and --threads at least 0")
    runs = collections.defaultdict(list)
    for r in range(args.rounds):
        a = medians(args.a, args.filter, args.threads)
        b = medians(args.b, args.filter, args.threads)
        for key in a.keys() & b.keys():
            runs[key].append((a[key], b[key]))
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    print(f"\n{args.rounds} alternated rounds, {args.threads} threads; B/A < 1: B is faster\n")
    print("| bench | A median | B median | B / A, median of rounds | range |")
    print("|---|---:|---:|---:|---|")
    for key in sorted(runs):
        pairs = runs[key]
        ratios = sorted(b / a for a, b in pairs)
        print(f"| {key} | {statistics.median(a for a, _ in pairs):.3f} ms | "
              f"{statistics.median(b for _, b in pairs):.3f} ms | {statistics.median(ratios):.3f} | "
              f"{ratios[0]:.3f}–{ratios[-1]:.3f} |")


if __name__ == "__main__":
    main()
