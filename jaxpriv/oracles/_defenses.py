"""Output defences: pure functions on a batch of oracle outputs, composed in order.

A defence maps ``(key, outputs[n, c]) -> outputs`` and may change the output
kind (``top_k`` keeps a probability vector with zeros outside the top k;
``label_only`` returns int labels). They compose like ``optax.chain``: the
oracle applies them left to right.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxpriv import _validate

# Output kinds, from the richest to the poorest for classification.
PROBABILITIES = "probabilities"
TOPK = "topk"
LABEL = "label"
LEAF = "leaf"
VALUE = "value"
KINDS = (PROBABILITIES, TOPK, LABEL, LEAF, VALUE)


class Defense(NamedTuple):
    """An output defence.

    Attributes:
      name: e.g. ``"round(3)"``; used in reports.
      fn: ``fn(key, outputs) -> outputs``, pure and jittable.
      kind_in: kinds it accepts.
      kind_out: kind it returns (``None``: unchanged).
      lossy: whether it changes probability values (rounding, noise, ...), so
        attacks that solve equations on exact confidences know to refuse or
        switch to a robust method.
    """

    name: str
    fn: Callable[[jax.Array, jax.Array], jax.Array]
    kind_in: tuple[str, ...] = (PROBABILITIES, TOPK)
    kind_out: str | None = None
    lossy: bool = True


def round_outputs(decimals: int) -> Defense:
    """Rounds confidences to ``decimals`` decimal places (Fredrikson et al. 2015 §7;
    Tramèr et al. 2016 §8)."""
    if int(decimals) != decimals or decimals < 0:
        raise ValueError(f"Expected decimals={decimals!r} to be an integer >= 0.")
    scale = 10.0 ** int(decimals)
    return Defense(f"round({int(decimals)})",
                   lambda key, p: jnp.round(p * scale) / scale)


def top_k(k: int) -> Defense:
    """Keeps the ``k`` largest confidences and zeroes the rest (Shokri et al. 2017 §VI)."""
    if int(k) != k or k < 1:
        raise ValueError(f"Expected k={k!r} to be an integer >= 1.")

    def fn(key, p):
        kth = jax.lax.top_k(p, int(k))[0][..., -1:]
        # Ties at the k-th value are broken by index so exactly k survive.
        rank = jnp.argsort(jnp.argsort(-p, axis=-1, stable=True), axis=-1)
        return jnp.where((p >= kth) & (rank < k), p, 0.0)

    return Defense(f"top_k({int(k)})", fn, kind_out=TOPK)


def label_only() -> Defense:
    """Returns only the predicted label (int32 ``[n]``)."""
    return Defense("label_only", lambda key, p: jnp.argmax(p, axis=-1).astype(jnp.int32),
                   kind_out=LABEL)


def temperature(t: float) -> Defense:
    """Softens (t > 1) or sharpens (t < 1) confidences: ``softmax(log p / t)``,
    i.e. the softmax of the logits divided by ``t`` (Shokri et al. 2017 §VI)."""
    _validate.positive("t", t)

    def fn(key, p):
        logp = jnp.log(jnp.maximum(p, 1e-30)) / t
        return jax.nn.softmax(jnp.where(p > 0, logp, -jnp.inf), axis=-1)

    return Defense(f"temperature({t:g})", fn)


def gaussian_noise(sigma: float, *, renormalize: bool = True) -> Defense:
    """Adds N(0, sigma^2) noise to every confidence, clips to [0, 1] and
    (by default) renormalises to sum to 1."""
    _validate.positive("sigma", sigma, allow_zero=True)

    def fn(key, p):
        q = jnp.clip(p + sigma * jax.random.normal(key, p.shape, p.dtype), 0.0, 1.0)
        if renormalize:
            q = q / jnp.maximum(q.sum(axis=-1, keepdims=True), 1e-12)
        return q

    return Defense(f"gaussian_noise({sigma:g})", fn)


def reverse_sigmoid(beta: float, gamma: float = 1.0) -> Defense:
    """Reverse-sigmoid perturbation (Lee et al., "Defending against NN model
    stealing attacks using deceptive perturbations", S&P Workshops 2019):
    ``q = p - beta * (sigmoid(gamma * logit(p)) - 1/2)``, renormalised; keeps the
    top label for small ``beta`` while corrupting the confidence values."""
    _validate.positive("beta", beta, allow_zero=True)
    _validate.positive("gamma", gamma)

    def fn(key, p):
        pc = jnp.clip(p, 1e-6, 1 - 1e-6)
        z = gamma * jnp.log(pc / (1 - pc))
        q = jnp.clip(p - beta * (jax.nn.sigmoid(z) - 0.5), 0.0, None)
        return q / jnp.maximum(q.sum(axis=-1, keepdims=True), 1e-12)

    return Defense(f"reverse_sigmoid({beta:g},{gamma:g})", fn)


DEFENSES: dict[str, Callable[..., Defense]] = {
    "round": round_outputs,
    "top_k": top_k,
    "label_only": label_only,
    "temperature": temperature,
    "gaussian_noise": gaussian_noise,
    "reverse_sigmoid": reverse_sigmoid,
}


def parse_defense(spec: str) -> Defense:
    """Builds a defence from text: ``"round:3"``, ``"top_k:1"``, ``"label_only"``,
    ``"temperature:5"``, ``"gaussian_noise:0.01"``, ``"reverse_sigmoid:0.5,1"``."""
    name, _, args = spec.partition(":")
    _validate.one_of("defense", name, DEFENSES)
    values = [float(a) for a in args.split(",") if a] if args else []
    if name in ("round", "top_k"):
        values = [int(v) for v in values]
    return DEFENSES[name](*values)
