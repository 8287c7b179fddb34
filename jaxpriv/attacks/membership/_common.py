"""Helpers shared by the membership attacks: outputs, defences, features, targets."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import PROBABILITIES, Defense, Oracle

# Smallest probability used inside logarithms (float32-safe).
EPS = 1e-30


def as_oracle(target: Any, *, num_features: int | None = None) -> Oracle:
    """An :class:`Oracle` for ``target``: returned as is, or built over a white-box
    ``(apply_fn, params)`` pair (its queries are counted the same way)."""
    if isinstance(target, Oracle):
        return target
    if isinstance(target, tuple) and len(target) == 2 and callable(target[0]):
        return Oracle.from_model(target[0], target[1],
                                 input_shape=None if num_features is None else (num_features,),
                                 name="target")
    raise ValueError(
        f"Expected target to be an Oracle or an (apply_fn, params) pair; got {type(target).__name__}.")


def check_records(x: Any, y: Any, num_classes: int | None = None, *,
                  names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """Validates records ``x[n, d]`` (finite numbers) and labels ``y[n]``."""
    xa = _validate.array(names[0], x, ndim=2, dtype_kind="fiub")
    ya = _validate.array(names[1], y, ndim=1, dtype_kind="iu")
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(f"Expected {names[0]} and {names[1]} with the same number of rows; got "
                         f"{names[0]}.shape={xa.shape}, {names[1]}.shape={ya.shape}.")
    if num_classes is not None:
        _validate.labels(names[1], ya, num_classes)
    return xa.astype(np.float32), ya.astype(np.int32)


def apply_defenses(key: jax.Array, probs: jax.Array, defenses: Sequence[Defense]) -> jax.Array:
    """Applies output defences in order, exactly as :meth:`Oracle.pure_fn` does
    (same key folding), so shadow outputs look like the target's."""
    out = probs
    for i, df in enumerate(defenses):
        out = df.fn(jax.random.fold_in(key, i), out)
    return out


def output_kind(defenses: Sequence[Defense]) -> str:
    kind = PROBABILITIES
    for df in defenses:
        kind = df.kind_out or kind
    return kind


def predicted_labels(outputs: jax.Array) -> jax.Array:
    """Labels ``[n]`` from oracle outputs (labels already, or a vector per row)."""
    if jnp.issubdtype(outputs.dtype, jnp.integer):
        return outputs
    return jnp.argmax(outputs, axis=-1).astype(jnp.int32)


def to_probabilities(outputs: jax.Array, num_classes: int) -> jax.Array:
    """Oracle outputs as ``[n, c]`` vectors; labels become one-hot vectors."""
    if jnp.issubdtype(outputs.dtype, jnp.integer):
        return jax.nn.one_hot(outputs, num_classes, dtype=jnp.float32)
    return outputs.astype(jnp.float32)


def logit_confidence(probs: jax.Array, y: jax.Array) -> jax.Array:
    """LiRA's logit-scaled confidence ``log p_y - log(sum_{j != y} p_j)``.

    Carlini et al. (S&P 2022, Section IV-C): the scaled confidence of the true
    class is close to Gaussian across models. Args: ``probs [..., n, c]``,
    ``y [n]``; returns ``[..., n]``.
    """
    yb = jnp.broadcast_to(y, probs.shape[:-1])
    py = jnp.take_along_axis(probs, yb[..., None], axis=-1)[..., 0]
    rest = jnp.sum(probs, axis=-1) - py
    return jnp.log(jnp.maximum(py, EPS)) - jnp.log(jnp.maximum(rest, EPS))


def stacked_outputs(apply_fn: Callable, params: Any, x: jax.Array, key: jax.Array,
                    defenses: Sequence[Defense] = ()) -> jax.Array:
    """Outputs of K stacked models on the same rows: ``[K, n, c]`` (or ``[K, n]``
    labels), softmax then ``defenses``, one vmapped program."""
    def one(p, k):
        probs = jax.nn.softmax(apply_fn(p, x), axis=-1)
        return apply_defenses(k, probs, defenses)

    num = jax.tree_util.tree_leaves(params)[0].shape[0]
    return jax.vmap(one)(params, jax.random.split(key, num))
