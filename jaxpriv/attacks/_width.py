"""The output width of a white-box target, read once per target shape."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_CACHE: dict = {}


def num_classes(apply_fn, params, d: int, *, hint: str = "") -> int:
    """``c`` for ``apply_fn(params, x[1, d]) -> [1, c]``, traced (not run) once.

    Cached per (``apply_fn``, parameter shapes and dtypes, ``d``): a second
    attack on the same target does not trace ``apply_fn`` again just to read
    its output width (on a small target that trace cost more than the attack).
    ``hint`` ends the error messages (e.g. which setting gave ``d``).
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    sig = (apply_fn, treedef, tuple((np.shape(a), str(getattr(a, "dtype", type(a))))
                                    for a in leaves), int(d))
    try:
        hit = _CACHE.get(sig)
    except TypeError:  # unhashable apply_fn
        hit, sig = None, None
    if hit is not None:
        return hit
    n = _traced(apply_fn, params, int(d), hint)
    if sig is not None and len(_CACHE) < 256:
        _CACHE[sig] = n
    return n


def _traced(apply_fn, params, d, hint):
    tail = f" {hint}" if hint else ""
    try:
        out = jax.eval_shape(lambda p: apply_fn(p, jnp.zeros((1, d), jnp.float32)), params)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Expected apply_fn(params, x[1, {d}]) to run; it failed: {e}"
                         f"{tail}") from None
    if len(getattr(out, "shape", ())) != 2 or out.shape[0] != 1:
        raise ValueError(f"Expected apply_fn(params, x[1, {d}]) to return [1, num_classes]; "
                         f"got shape {getattr(out, 'shape', type(out).__name__)}.{tail}")
    return int(out.shape[1])
