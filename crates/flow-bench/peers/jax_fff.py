"""JAX (CPU, jit) peer of `cargo bench -p flow-bench --bench freeform` (FFF and autoencoder steps).

Same models as benches/freeform.rs (flow_freeform::ResNetConfig, SiLU, PyTorch-default
uniform init, f32, Adam lr 1e-5, beta = 10):
  resnet8_b512   encoder x ↦ x + MLP(x), MLP 8→256→256→8 (one block); decoder the same; batch 512
  fif64to8_b256  encoder: 2 blocks u ↦ u + MLP(u) on R^64 (64→256→256→64), then Linear(64→8);
                 decoder: Linear(8→64), then 2 blocks; batch 256 (free-form injective flow)
Steps:
  fff step          −log N(f(x); 0, I) − S + β‖x − g(f(x))‖² (batch mean), with the surrogate
                    S = vᵀ J_f(x) · stop_grad(J_g(z) v) as in the official fff/loss.py: J_g v by a
                    forward-mode JVP through the decoder, vᵀ J_f by a VJP through the encoder,
                    differentiated again by jax.grad; one Hutchinson vector per sample, a fresh
                    Gaussian normalised to norm √d (the K = 1 QR / sphere vector), drawn in the step
  autoencoder step  β‖x − g(f(x))‖² (batch mean)
The whole step (loss, gradient, Adam) is one jit-compiled function.

(`jax_steps.py` also has a "free-form step", but on plain MLPs without the residual skip: it is
the flow-core workload, not this bench's model.)

Usage: python3 jax_fff.py [--threads N] [--quick]
Prints "workload step: X ms", the median of 7 blocks of 20 steps (--quick: 3 blocks of 5).
"""
import argparse
import math
import os
import statistics
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--quick", action="store_true", help="3 blocks of 5 steps (a smoke run)")
parser.add_argument("--only", help="run only the workloads whose name contains this")
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

BETA = 10.0
LR = 1e-5


def init_linear(key, fan_in, fan_out):
    """PyTorch's default Linear init: U(±1/√fan_in) for weight and bias."""
    k1, k2 = jax.random.split(key)
    bound = 1.0 / math.sqrt(fan_in)
    w = jax.random.uniform(k1, (fan_out, fan_in), jnp.float32, -bound, bound)
    b = jax.random.uniform(k2, (fan_out,), jnp.float32, -bound, bound)
    return (w, b)


def init_resnet(key, data, latent, hidden, blocks, decoder):
    """Blocks u ↦ u + MLP(u) on R^data (MLP data→hidden…→data) and, when latent < data,
    a projection Linear(data→latent) after the blocks (encoder) or Linear(latent→data) before
    them (decoder)."""
    keys = jax.random.split(key, blocks + 1)
    sizes = [data, *hidden, data]
    block_params = []
    for b in range(blocks):
        ks = jax.random.split(keys[b], len(sizes) - 1)
        block_params.append([init_linear(k, i, o) for k, i, o in zip(ks, sizes[:-1], sizes[1:])])
    proj = None
    if latent < data:
        proj = init_linear(keys[-1], latent, data) if decoder else init_linear(keys[-1], data, latent)
    return {"blocks": block_params, "proj": proj}


def linear(p, x):
    w, b = p
    return x @ w.T + b


def mlp(layers, x):
    for i, p in enumerate(layers):
        x = linear(p, x)
        if i + 1 < len(layers):
            x = jax.nn.silu(x)
    return x


def encode(p, x):
    for block in p["blocks"]:
        x = x + mlp(block, x)
    return x if p["proj"] is None else linear(p["proj"], x)


def decode(p, z):
    u = z if p["proj"] is None else linear(p["proj"], z)
    for block in p["blocks"]:
        u = u + mlp(block, u)
    return u


def log_normal(z):
    d = z.shape[1]
    return -0.5 * jnp.sum(z**2, axis=1) - 0.5 * d * math.log(2 * math.pi)


def hutchinson(key, shape):
    """K = 1 Hutchinson vector per sample: uniform on the sphere of radius √d (= QR with K = 1)."""
    v = jax.random.normal(key, shape, jnp.float32)
    return v / jnp.linalg.norm(v, axis=1, keepdims=True) * math.sqrt(shape[1])


def fff_loss(params, x, key):
    enc, dec = params
    z, vjp_f = jax.vjp(lambda x: encode(enc, x), x)
    v = hutchinson(key, z.shape)
    x_hat, jg_v = jax.jvp(lambda z: decode(dec, z), (z,), (v,))
    (vt_jf,) = vjp_f(v)
    surrogate = jnp.sum(vt_jf * jax.lax.stop_gradient(jg_v), axis=1)
    nll = -log_normal(z) - surrogate
    recon = jnp.sum((x - x_hat) ** 2, axis=1)
    return jnp.mean(nll) + BETA * jnp.mean(recon)


def ae_loss(params, x, key):
    del key
    enc, dec = params
    recon = jnp.sum((x - decode(dec, encode(enc, x))) ** 2, axis=1)
    return BETA * jnp.mean(recon)


def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return (zeros, zeros, jnp.zeros((), jnp.float32))


def adam_update(params, grads, state, b1=0.9, b2=0.999, eps=1e-8):
    m, v, t = state
    t = t + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    step = LR / (1 - b1**t)
    corr = jnp.sqrt(1 - b2**t)
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - step * m / (jnp.sqrt(v) / corr + eps), params, m, v
    )
    return params, (m, v, t)


def make_step(loss):
    @jax.jit
    def step(params, state, x, key):
        key, sub = jax.random.split(key)
        grads = jax.grad(loss)(params, x, sub)
        params, state = adam_update(params, grads, state)
        return params, state, key
    return step


def bench(name, step, params, x, blocks, per_block):
    if args.only and args.only not in name:
        return
    if args.memory:
        from memstat import PeakAbove
        with PeakAbove() as peak:
            timed(name, step, params, x, blocks, per_block)
        print(f"{name}: peak {peak.mb:.1f} MiB", flush=True)
    else:
        timed(name, step, params, x, blocks, per_block)


def timed(name, step, params, x, blocks, per_block):
    state = adam_init(params)
    key = jax.random.PRNGKey(1)
    for _ in range(3):
        params, state, key = step(params, state, x, key)
    jax.block_until_ready(params)
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(per_block):
            params, state, key = step(params, state, x, key)
        jax.block_until_ready(params)
        times.append((time.perf_counter() - t0) / per_block * 1e3)
    print(f"{name}: {statistics.median(times):.3f} ms", flush=True)


def main():
    blocks, per_block = (3, 5) if args.quick else (7, 20)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, threads={args.threads}")
    workloads = [
        ("resnet8_b512", 8, 8, 1, 512),
        ("fif64to8_b256", 64, 8, 2, 256),
    ]
    key = jax.random.PRNGKey(0)
    for name, data, latent, nblocks, batch in workloads:
        ke, kd, kx, key = jax.random.split(key, 4)
        enc = init_resnet(ke, data, latent, [256, 256], nblocks, decoder=False)
        dec = init_resnet(kd, data, latent, [256, 256], nblocks, decoder=True)
        x = jax.random.normal(kx, (batch, data), jnp.float32)
        bench(f"freeform/{name}_fff_step", make_step(fff_loss), (enc, dec), x, blocks, per_block)
        bench(f"freeform/{name}_autoencoder_step", make_step(ae_loss), (enc, dec), x, blocks,
              per_block)


if __name__ == "__main__":
    main()
