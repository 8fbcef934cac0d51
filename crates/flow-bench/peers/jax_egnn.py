"""JAX (CPU, jit) peer of the E(3)-FFF step in `cargo bench -p flow-bench --bench freeform`
(`freeform/step/egnn_dw4_b128_*`) and of `crates/flow-freeform/examples/egnn_step.rs`.

The network is the EGNN of `flow_freeform::egnn` (EDM's `EGNN_dynamics` as used by E(3)-FFF,
FFF arXiv:2310.16624 §5.2): node embedding Linear(1→H) of constant features; per block two GCLs
on edge features [‖x_i−x_j‖², ‖x_i⁰−x_j⁰‖²] (edge MLP Linear(2H+2→H), SiLU, Linear, SiLU;
attention gate sigmoid(Linear(H→1)); node update h + MLP([h, Σ_j m_ij/100])) and a coordinate
update x_i + Σ_j (x_i−x_j)/(‖x_i−x_j‖+1)·φ(h_i,h_j,e_ij)/100 (φ = Linear, SiLU, Linear, SiLU,
Linear(H→1, no bias)); output x + mean_free(x_L − x). All pairs with a masked diagonal, the way
XLA likes it (dense tensors, no gathers). Encoder and decoder are separate copies; the latent is
the mean-free Gaussian.

The FFF step (loss, gradient, Adam) is the one of `jax_fff.py` (surrogate vᵀJ_f · sg(J_g v),
one Hutchinson vector per sample, here projected to the mean-free subspace), jit-compiled whole.
The init is PyTorch's default Linear init (ours differs only in the coordinate head's
xavier gain 0.001, which does not change the cost).

Usage: python3 jax_egnn.py [--threads N] [--quick]
Prints "workload step: X ms", the median of 7 blocks of 20 steps (--quick: 3 blocks of 5).
"""
import math

# jax_fff parses --threads/--quick and sets XLA_FLAGS before importing jax; reuse its helpers.
from jax_fff import args, bench, init_linear, linear, make_step  # noqa: F401

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

BETA = 10.0


def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [init_linear(k, i, o) for k, i, o in zip(keys, sizes[:-1], sizes[1:])]


def init_egnn(key, hidden, layers, sublayers=2):
    h = hidden
    k_emb, *k_blocks = jax.random.split(key, layers + 1)
    blocks = []
    for kb in k_blocks:
        kg, kc, khead = jax.random.split(kb, 3)
        gcls = []
        for ks in jax.random.split(kg, sublayers):
            k1, k2, k3 = jax.random.split(ks, 3)
            gcls.append(
                {
                    "edge": init_mlp(k1, [2 * h + 2, h, h]),
                    "att": init_linear(k2, h, 1),
                    "node": init_mlp(k3, [2 * h, h, h]),
                }
            )
        head_w, _ = init_linear(khead, h, 1)
        blocks.append({"gcls": gcls, "coord": init_mlp(kc, [2 * h + 2, h, h]), "head": head_w})
    return {"embedding": init_linear(k_emb, 1, h), "blocks": blocks}


def silu_mlp(layers, x, trailing):
    """Linear, SiLU, …, Linear, and a final SiLU when `trailing`."""
    for i, p in enumerate(layers):
        x = linear(p, x)
        if trailing or i + 1 < len(layers):
            x = jax.nn.silu(x)
    return x


def pair_features(h, edge_attr):
    """[h_i, h_j, e_ij] for all ordered pairs: [B, N, N, 2H + 2]."""
    b, n, f = h.shape
    hi = jnp.broadcast_to(h[:, :, None, :], (b, n, n, f))
    hj = jnp.broadcast_to(h[:, None, :, :], (b, n, n, f))
    return jnp.concatenate([hi, hj, edge_attr], axis=-1)


def egnn(p, x, n, d):
    b = x.shape[0]
    x0 = x.reshape(b, n, d)
    mask = (1.0 - jnp.eye(n, dtype=x.dtype))[None, :, :, None]
    h = linear(p["embedding"], jnp.ones((b, n, 1), x.dtype))
    diff0 = x0[:, :, None, :] - x0[:, None, :, :]
    radial0 = jnp.sum(diff0**2, axis=-1, keepdims=True)
    xl = x0
    for block in p["blocks"]:
        diff = xl[:, :, None, :] - xl[:, None, :, :]
        radial = jnp.sum(diff**2, axis=-1, keepdims=True)
        edge_attr = jnp.concatenate([radial, radial0], axis=-1)
        for g in block["gcls"]:
            m = silu_mlp(g["edge"], pair_features(h, edge_attr), trailing=True)
            gate = jax.nn.sigmoid(linear(g["att"], m))
            agg = jnp.sum(m * gate * mask, axis=2) / 100.0
            h = h + silu_mlp(g["node"], jnp.concatenate([h, agg], axis=-1), trailing=False)
        phi = silu_mlp(block["coord"], pair_features(h, edge_attr), trailing=True) @ block["head"].T
        unit = diff / (jnp.sqrt(radial + 1e-8) + 1.0)
        xl = xl + jnp.sum(unit * phi * mask, axis=2) / 100.0
    vel = xl - x0
    vel = vel - jnp.mean(vel, axis=1, keepdims=True)
    return x + vel.reshape(b, n * d)


def mean_free(u, n, d):
    b = u.shape[0]
    u = u.reshape(b, n, d)
    return (u - jnp.mean(u, axis=1, keepdims=True)).reshape(b, n * d)


def make_losses(n, d):
    dim = (n - 1) * d

    def fff_loss(params, x, key):
        enc, dec = params
        z, vjp_f = jax.vjp(lambda x: egnn(enc, x, n, d), x)
        v = mean_free(jax.random.normal(key, z.shape, jnp.float32), n, d)
        v = v / jnp.linalg.norm(v, axis=1, keepdims=True) * math.sqrt(dim)
        x_hat, jg_v = jax.jvp(lambda z: egnn(dec, z, n, d), (z,), (v,))
        (vt_jf,) = vjp_f(v)
        surrogate = jnp.sum(vt_jf * jax.lax.stop_gradient(jg_v), axis=1)
        nll = 0.5 * jnp.sum(z**2, axis=1) - surrogate
        recon = jnp.sum((x - x_hat) ** 2, axis=1)
        return jnp.mean(nll) + BETA * jnp.mean(recon)

    def ae_loss(params, x, key):
        del key
        enc, dec = params
        recon = jnp.sum((x - egnn(dec, egnn(enc, x, n, d), n, d)) ** 2, axis=1)
        return BETA * jnp.mean(recon)

    return fff_loss, ae_loss


def main():
    blocks, per_block = (3, 5) if args.quick else (7, 20)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, threads={args.threads}")
    # name, particles, spatial dims, EGNN blocks, hidden, batch
    workloads = [
        ("egnn_dw4_b128", 4, 2, 4, 32, 128),  # benches/freeform.rs
        ("egnn_dw4_quick_b64", 4, 2, 8, 32, 64),  # egnn_step defaults / DW4 quick preset
    ]
    key = jax.random.PRNGKey(0)
    for name, n, d, layers, hidden, batch in workloads:
        ke, kd, kx, key = jax.random.split(key, 4)
        params = (init_egnn(ke, hidden, layers), init_egnn(kd, hidden, layers))
        x = mean_free(2.0 * jax.random.normal(kx, (batch, n * d), jnp.float32), n, d)
        fff_loss, ae_loss = make_losses(n, d)
        bench(f"freeform/{name}_fff_step", make_step(fff_loss), params, x, blocks, per_block)
        bench(f"freeform/{name}_autoencoder_step", make_step(ae_loss), params, x, blocks, per_block)


if __name__ == "__main__":
    main()
