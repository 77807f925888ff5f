"""Peer: JAX on CPU (XLA). Runs in the peers venv.

train = one jax.jit of value_and_grad + the SGD update, parameters donated so XLA may update
them in place; infer = jax.jit(forward). Each step blocks until its result is ready.
The harness sets JAX_PLATFORMS=cpu so jax does not probe for accelerators.
usage: python -m bench.peer_jax --model lenet --mode train --batch 64
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from bench.child import parse_args, run_main, time_steps
from bench.workloads import LR, NETS, checksums, init_params, make_data

Params = dict[str, jax.Array]


def forward(params: Params, x: jax.Array, model: str) -> jax.Array:
    """The bench network in NCHW / OIHW, written with lax primitives."""
    for layer in NETS[model]:
        kind = layer[0]
        if kind == "conv":
            name, pad = layer[1], layer[5]
            x = lax.conv_general_dilated(
                x, params[f"{name}.weight"], (1, 1), [(pad, pad), (pad, pad)],
                dimension_numbers=("NCHW", "OIHW", "NCHW"))
            x = x + params[f"{name}.bias"][None, :, None, None]
        elif kind == "relu":
            x = jax.nn.relu(x)
        elif kind == "pool":
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            x = x @ params[f"{layer[1]}.weight"].T + params[f"{layer[1]}.bias"]
    return x


def loss_fn(params: Params, x: jax.Array, y: jax.Array, model: str) -> jax.Array:
    """Softmax cross-entropy, mean over the batch."""
    logp = jax.nn.log_softmax(forward(params, x, model))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def bench_train(args: argparse.Namespace, params: Params, x: jax.Array) -> dict[str, Any]:
    """Times jitted SGD steps; records the losses of steps 1 and 2."""
    y = jnp.asarray(make_data(args.model, args.batch)[1].astype("int32"))

    def train_step(p: Params, x: jax.Array, y: jax.Array) -> tuple[Params, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y, args.model)
        return jax.tree_util.tree_map(lambda w, g: w - LR * g, p, grads), loss

    jitted = jax.jit(train_step, donate_argnums=0)
    state: dict[str, Any] = {"params": params}
    losses: list[float] = []

    def step() -> None:
        state["params"], loss = jitted(state["params"], x, y)
        jax.block_until_ready((state["params"], loss))
        if len(losses) < 2:
            losses.append(float(loss))

    timing = time_steps(step, args.warmup, args.iters)
    return timing | {"loss_first": losses[0], "loss_second": losses[1]}


def bench_infer(args: argparse.Namespace, params: Params, x: jax.Array) -> dict[str, Any]:
    """Times jitted forward passes; records checksums of the logits."""
    fwd = jax.jit(lambda p, x: forward(p, x, args.model))
    out: list[jax.Array] = []

    def step() -> None:
        out[:] = [fwd(params, x).block_until_ready()]

    timing = time_steps(step, args.warmup, args.iters)
    return timing | checksums(jax.device_get(out[0]))


def body(args: argparse.Namespace) -> dict[str, Any]:
    """Dispatches on the mode; adds version facts to the record."""
    if args.model == "gemm":
        raise ValueError("gemm is not benchmarked with jax")
    params = {k: jnp.asarray(v) for k, v in init_params(args.model).items()}
    x = jnp.asarray(make_data(args.model, args.batch)[0])
    info = {"version": jax.__version__, "device": str(jax.devices()[0])}
    if args.mode == "train":
        return bench_train(args, params, x) | info
    return bench_infer(args, params, x) | info


def main() -> None:
    """Entry point: one cell, one result line."""
    run_main("jax", body, parse_args())


if __name__ == "__main__":
    main()
