"""JAX (CPU, jit) side of the flow-core step benchmarks in BENCHMARKS.md.

Same workloads as `cargo bench -p flow-bench --bench core`:
  mlp step         MLP 8→256→256→8, SiLU, batch 512, f32, MSE loss, Adam
  autoencoder step encoder + decoder MLPs, reconstruction loss, Adam
  free-form step   free-form-flow loss: JVP through the decoder, VJP through the encoder,
                   surrogate vᵀJ_f(x)·stop_grad(J_g(z)v) + β‖x − g(f(x))‖², Adam
  hvp wrt input    Hessian-vector product of Σ enc(x)² with respect to x (forward-over-reverse)

Usage: python3 jax_steps.py [--threads N] [--cpu]   (prints "name: X ms", median of 7 blocks of 20;
with --cpu also the process CPU time per step)
"""
import argparse
import os
import statistics
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--only", help="run only the workloads whose name contains this")
parser.add_argument("--cpu", action="store_true",
                    help="also print the process CPU time per step: XLA uses every core whatever "
                         "the thread flags say (session 10: CPU/wall 1.8-1.9 at --threads 1 and 2)")
parser.add_argument("--memory", action="store_true",
                    help="also print each workload's peak RSS above the RSS before it (MiB)")
args = parser.parse_args()
os.environ.setdefault(
    "XLA_FLAGS",
    f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
    f"intra_op_parallelism_threads={args.threads}",
)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402


def init_mlp(key, sizes):
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        k1, k2, key = jax.random.split(key, 3)
        bound = 1.0 / a**0.5
        params.append((jax.random.uniform(k1, (b, a), jnp.float32, -bound, bound),
                       jax.random.uniform(k2, (b,), jnp.float32, -bound, bound)))
    return params


def mlp(params, x):
    for i, (w, b) in enumerate(params):
        x = x @ w.T + b
        if i + 1 < len(params):
            x = jax.nn.silu(x)
    return x


def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return (zeros, zeros, 0)


def adam_update(params, grads, state, lr=1e-4, b1=0.9, b2=0.999, eps=1e-8):
    m, v, t = state
    t = t + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    step = lr / (1 - b1**t)
    corr = jnp.sqrt(1 - b2**t)
    params = jax.tree_util.tree_map(lambda p, m, v: p - step * m / (jnp.sqrt(v) / corr + eps), params, m, v)
    return params, (m, v, t)


def mlp_loss(params, x):
    return jnp.mean((mlp(params, x) - x) ** 2)


def ae_loss(params, x):
    enc, dec = params
    return jnp.mean((mlp(dec, mlp(enc, x)) - x) ** 2)


def fff_loss(params, x, v, beta=10.0):
    enc, dec = params
    f = lambda x: mlp(enc, x)
    g = lambda z: mlp(dec, z)
    z, vjp_f = jax.vjp(f, x)
    x_hat, jg_v = jax.jvp(g, (z,), (v,))
    (vt_jf,) = vjp_f(v)
    surrogate = jnp.sum(vt_jf * jax.lax.stop_gradient(jg_v), axis=1)
    nll = 0.5 * jnp.sum(z**2, axis=1) - surrogate
    recon = jnp.sum((x_hat - x) ** 2, axis=1)
    return jnp.mean(nll + beta * recon)


def make_step(loss):
    @jax.jit
    def step(params, state, *batch):
        grads = jax.grad(loss)(params, *batch)
        return adam_update(params, grads, state)
    return step


def bench(name, step, params, *batch):
    if args.only and args.only not in name:
        return
    if args.memory:
        from memstat import PeakAbove
        with PeakAbove() as peak:
            timed(name, step, params, *batch)
        print(f"{name}: peak {peak.mb:.1f} MiB", flush=True)
    else:
        timed(name, step, params, *batch)


def timed(name, step, params, *batch):
    state = adam_init(params)
    for _ in range(5):
        params, state = step(params, state, *batch)
    jax.block_until_ready(params)
    blocks, cpu = [], []
    for _ in range(7):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(20):
            params, state = step(params, state, *batch)
        jax.block_until_ready(params)
        blocks.append((time.perf_counter() - t0) / 20 * 1e3)
        cpu.append((time.process_time() - c0) / 20 * 1e3)
    print(f"{name}: {statistics.median(blocks):.3f} ms", flush=True)
    if args.cpu:
        print(f"{name} (CPU time): {statistics.median(cpu):.3f} ms CPU", flush=True)


key = jax.random.PRNGKey(0)
k1, k2, k3, k4 = jax.random.split(key, 4)
sizes = [8, 256, 256, 8]
enc, dec = init_mlp(k1, sizes), init_mlp(k2, sizes)
x = jax.random.normal(k3, (512, 8), jnp.float32)
v = jax.random.normal(k4, (512, 8), jnp.float32)
print(f"jax {jax.__version__} on {jax.devices()[0].platform}, threads={args.threads}")
bench("mlp step", make_step(mlp_loss), enc, x)
bench("autoencoder step", make_step(ae_loss), (enc, dec), x)
bench("free-form step", make_step(fff_loss), (enc, dec), x, v)


@jax.jit
def hvp_input(enc, x, v):
    f = lambda x: jnp.sum(mlp(enc, x) ** 2)
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def bench_hvp():
    hvp_input(enc, x, v).block_until_ready()
    blocks, cpu = [], []
    for _ in range(7):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(20):
            out = hvp_input(enc, x, v)
        out.block_until_ready()
        blocks.append((time.perf_counter() - t0) / 20 * 1e3)
        cpu.append((time.process_time() - c0) / 20 * 1e3)
    print(f"hvp wrt input: {statistics.median(blocks):.3f} ms", flush=True)
    if args.cpu:
        print(f"hvp wrt input (CPU time): {statistics.median(cpu):.3f} ms CPU", flush=True)


if not args.only or args.only in "hvp wrt input":
    bench_hvp()
