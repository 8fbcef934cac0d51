"""JAX/flowjax peer of crates/flow-bench/benches/coupling.rs.

Same models as the Rust bench: RealNVP-style (8 affine couplings, flowjax's default
permutations) and NSF (4 rational-quadratic spline couplings, 8 bins on [-4, 4]), subnets
[64, 64] ReLU, float32, batch 512, 2-D and 8-D. One step = NLL value-and-grad, global-norm
clipping at 10, Adam, all under one `jax.jit` (the idiomatic flowjax/optax loop).

    pip install flowjax optax   # CPU jax
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=true python peers/flowjax_coupling.py

Prints one JSON line per model with the median step time in ms over timed repetitions
(`--only realnvp_2d|realnvp_8d|nsf_2d|nsf_8d` runs one).
Differences from our models: flowjax's `coupling_flow` has no ActNorm and inserts a
fixed permutation between layers (we use alternating halves for RealNVP and LU linear
layers for NSF); parameter counts are printed for comparison.
"""
import json
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from flowjax.bijections import Affine, RationalQuadraticSpline
from flowjax.distributions import StandardNormal
from flowjax.flows import coupling_flow

BATCH = 512


def build(kind, dim, key):
    base = StandardNormal((dim,))
    if kind == "realnvp":
        transformer, layers = Affine(), 8
    else:
        transformer, layers = RationalQuadraticSpline(knots=8, interval=4.0), 4
    return coupling_flow(
        key, base_dist=base, transformer=transformer, flow_layers=layers,
        nn_width=64, nn_depth=2, nn_activation=jax.nn.relu, invert=True,
    )


def bench(kind, dim, reps=200):
    key = jr.key(0)
    flow = build(kind, dim, key)
    x = 1.5 * jr.normal(jr.key(1), (BATCH, dim), dtype=jnp.float32)
    params, static = eqx.partition(flow, eqx.is_inexact_array)
    opt = optax.chain(optax.clip_by_global_norm(10.0), optax.adam(1e-4))
    state = opt.init(params)

    def loss(p, x):
        return -eqx.combine(p, static).log_prob(x).mean()

    @jax.jit
    def step(p, s, x):
        l, g = jax.value_and_grad(loss)(p, x)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, l

    for _ in range(5):
        params, state, l = step(params, state, x)
    l.block_until_ready()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        params, state, l = step(params, state, x)
        l.block_until_ready()
        times.append(time.perf_counter() - t)
    n_params = sum(a.size for a in jax.tree_util.tree_leaves(params))
    return {"model": f"{kind}_{dim}d", "batch": BATCH, "median_ms": 1e3 * statistics.median(times),
            "params": int(n_params), "jax": jax.__version__}


if __name__ == "__main__":
    import sys
    # `--only NAME` (e.g. nsf_8d): one model, for the per-workload pairs of compare.py.
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    for kind in ("realnvp", "nsf"):
        for dim in (2, 8):
            if only is None or only == f"{kind}_{dim}d":
                print(json.dumps(bench(kind, dim)), flush=True)
