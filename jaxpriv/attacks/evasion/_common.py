"""Shared types of the evasion attacks: inputs, results, target resolution, summaries."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import Oracle


class EvasionData(NamedTuple):
    """What an evasion attack perturbs.

    Attributes:
      x: float ``[n, d]`` clean inputs (inside the config's ``clip`` box).
      y: int ``[n]`` true labels.
      targets: int ``[n, T]`` target labels per input for a targeted attack
        (e.g. :func:`all_targets`: every label but the true one), or ``None``
        for an untargeted attack.
    """

    x: Any
    y: Any
    targets: Any = None


class EvasionResult(NamedTuple):
    """Adversarial examples and how far they moved.

    The item axes are ``[n]`` (untargeted) or ``[n, T]`` (targeted), preceded
    by ``[E]`` when the config sweeps several epsilons.

    Attributes:
      x_adv: float ``[..., d]`` adversarial inputs.
      pred: int ``[...]`` the target's label for ``x_adv``.
      success: bool ``[...]``: ``pred != y`` (untargeted) or ``pred == target``.
      l2: float ``[...]`` L2 norm of the perturbation.
      linf: float ``[...]`` L-infinity norm of the perturbation.
      queries: oracle rows spent (0 for white-box attacks).
    """

    x_adv: jax.Array
    pred: jax.Array
    success: jax.Array
    l2: jax.Array
    linf: jax.Array
    queries: int


def all_targets(y: Any, num_classes: int) -> np.ndarray:
    """Every label except the true one: int32 ``[n, num_classes - 1]``, in order.

    Example:
      >>> all_targets(np.array([0, 2]), 3)
      array([[1, 2], [0, 1]], dtype=int32)
    """
    y = _validate.labels("y", y, num_classes)
    grid = np.broadcast_to(np.arange(num_classes - 1), (y.shape[0], num_classes - 1))
    return (grid + (grid >= y[:, None])).astype(np.int32)


def white_box(target: Any, attack: str) -> tuple[Callable, Any]:
    """Checks and unpacks a white-box ``(apply_fn, params)`` target."""
    if isinstance(target, Oracle):
        raise ValueError(f"{attack} needs a white-box target (apply_fn, params); got an Oracle."
                         " Use pgd_nes for black-box access.")
    if not (isinstance(target, tuple) and len(target) == 2 and callable(target[0])):
        raise ValueError(f"Expected target=(apply_fn, params) for {attack}; got "
                         f"{type(target).__name__}.")
    return target


def check_data(data: Any, num_classes: int | None, clip: tuple[float, float],
               *, targeted: bool | None = None) -> EvasionData:
    """Validates :class:`EvasionData` (or an ``(x, y[, targets])`` tuple)."""
    if not isinstance(data, EvasionData):
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError("Expected data=EvasionData(x, y, targets) or an (x, y) tuple; got "
                             f"{type(data).__name__}.")
        data = EvasionData(*data)
    x = _validate.array("data.x", data.x, ndim=2, dtype_kind="fiu")
    y = _validate.array("data.y", data.y, shape=(x.shape[0],), dtype_kind="iu")
    lo, hi = clip
    if x.min() < lo - 1e-6 or x.max() > hi + 1e-6:
        raise ValueError(f"Expected data.x in the clip box [{lo}, {hi}]; got values in "
                         f"[{x.min():g}, {x.max():g}].")
    if num_classes is not None:
        _validate.labels("data.y", y, num_classes)
    t = data.targets
    if targeted is True and t is None:
        raise ValueError("Expected data.targets [n, T] for a targeted attack; got None "
                         "(all_targets(y, num_classes) gives every other label).")
    if t is not None:
        t = _validate.array("data.targets", t, dtype_kind="iu")
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[0] != x.shape[0]:
            raise ValueError(f"Expected data.targets with shape ({x.shape[0]}, T); got {t.shape}.")
        if num_classes is not None:
            _validate.labels("data.targets", t.reshape(-1), num_classes)
    return EvasionData(x.astype(np.float32), y.astype(np.int32),
                       None if t is None else t.astype(np.int32))


def eps_array(name: str, value: Any) -> tuple[jax.Array, bool]:
    """A scalar or 1-D epsilon as float32 ``[E]`` plus whether it was a sweep."""
    arr = _validate.array(name, value, dtype_kind="fiu")
    if arr.ndim > 1:
        raise ValueError(f"Expected {name} to be a number or a 1-D sequence; got shape {arr.shape}.")
    _validate.positive(name, arr, allow_zero=True)
    return jnp.asarray(np.atleast_1d(arr), jnp.float32), arr.ndim == 1


def norms(delta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """L2 and L-infinity norms over the last axis."""
    return jnp.sqrt(jnp.sum(jnp.square(delta), axis=-1)), jnp.max(jnp.abs(delta), axis=-1)


def project(delta: jax.Array, eps: jax.Array, norm: str) -> jax.Array:
    """Projects one perturbation ``[d]`` onto the eps-ball of ``norm``."""
    if norm == "linf":
        return jnp.clip(delta, -eps, eps)
    n = jnp.sqrt(jnp.sum(jnp.square(delta)))
    return delta * jnp.minimum(1.0, eps / jnp.maximum(n, 1e-12))


def summarize(result: EvasionResult, data: EvasionData | None = None) -> dict[str, Any]:
    """Success rate and perturbation norms of a result (host side).

    Returns:
      ``success_rate``, ``accuracy_under_attack`` (untargeted, when ``data`` is
      given: share of inputs still classified correctly), mean and median L2 and
      L-infinity norms over the successful items, and ``queries``. With an
      epsilon sweep every value is a list over ``[E]``.
    """
    success = np.asarray(result.success)
    l2, linf = np.asarray(result.l2), np.asarray(result.linf)
    lead = success.ndim - (1 if data is None or data.targets is None else 2)
    axes = tuple(range(lead, success.ndim))

    def masked(v, fn):
        out = np.full(success.shape[:lead], np.nan)
        it = np.ndindex(*success.shape[:lead]) if lead else [()]
        for i in it:
            s = success[i]
            out[i] = fn(v[i][s]) if s.any() else np.nan
        return out

    out = {
        "success_rate": success.mean(axis=axes),
        "l2_mean": masked(l2, np.mean), "l2_median": masked(l2, np.median),
        "linf_mean": masked(linf, np.mean), "linf_max": masked(linf, np.max),
        "queries": int(result.queries),
    }
    if data is not None and data.targets is None:
        pred = np.asarray(result.pred)
        out["accuracy_under_attack"] = (pred == np.asarray(data.y)).mean(axis=axes)
    return {k: (v.tolist() if isinstance(v, np.ndarray) and v.ndim else
                float(v) if isinstance(v, (np.ndarray, np.floating)) else v)
            for k, v in out.items()}
