"""JAX's (XLA CPU) f32 matrix product rate, for the GEMM-share line of compare.py (issue 14).

    python3 jax_gemm.py [--threads 2]

Prints, for the reference MLP step's largest product ([512,256]·[256,256]) and for 2048³, the
best of 15 blocks (each about 2 GFLOP of products) as "shape: X us, Y GFLOP/s".
"""
import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
os.environ.setdefault(
    "XLA_FLAGS",
    f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
    f"intra_op_parallelism_threads={args.threads}",
)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

product = jax.jit(lambda a, b: a @ b)
for m, k, n in [(512, 256, 256), (2048, 2048, 2048)]:
    a = jax.random.normal(jax.random.PRNGKey(0), (m, k), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (k, n), jnp.float32)
    product(a, b).block_until_ready()
    reps = max(1, int(2e9 / (2 * m * k * n)))
    best = float("inf")
    for _ in range(15):
        start = time.perf_counter()
        for _ in range(reps):
            out = product(a, b)
        out.block_until_ready()
        best = min(best, (time.perf_counter() - start) / reps)
    print(f"{m}x{k}x{n}: {best * 1e6:.1f} us, {2 * m * k * n / best / 1e9:.0f} GFLOP/s")
