"""Shared types of the extraction attacks: the query domain and the result."""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import Oracle


class Domain(NamedTuple):
    """The box the attacker draws queries from (Tramèr et al. 2016, §4: uniform
    random queries over the feature ranges).

    Attributes:
      low: float32 ``[d]``, smallest value of each feature.
      high: float32 ``[d]``, largest value of each feature.
    """

    low: jax.Array
    high: jax.Array

    @property
    def num_features(self) -> int:
        return int(self.low.shape[0])

    @property
    def center(self) -> jax.Array:
        return (self.low + self.high) / 2


def box_domain(low: Any, high: Any) -> Domain:
    """A :class:`Domain` from per-feature bounds ``low[d] <= high[d]``."""
    lo = _validate.array("low", low, ndim=1, dtype_kind="fiu").astype(np.float32)
    hi = _validate.array("high", high, shape=lo.shape, dtype_kind="fiu").astype(np.float32)
    if np.any(hi < lo):
        bad = int(np.flatnonzero(hi < lo)[0])
        raise ValueError(f"Expected low <= high for every feature; got low[{bad}]={lo[bad]}"
                         f" > high[{bad}]={hi[bad]}.")
    return Domain(jnp.asarray(lo), jnp.asarray(hi))


def unit_domain(num_features: int) -> Domain:
    """``[0, 1]^d``, e.g. images scaled to [0, 1]."""
    _validate.positive("num_features", num_features)
    return Domain(jnp.zeros((num_features,), jnp.float32), jnp.ones((num_features,), jnp.float32))


def data_domain(x: Any) -> Domain:
    """The bounding box of the rows of ``x[n, d]`` (per-feature min and max)."""
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    return box_domain(x.min(axis=0), x.max(axis=0))


def _check_query_args(domain: Any, n: Any) -> None:
    if not isinstance(domain, Domain):
        raise ValueError(f"Expected domain to be a Domain (box_domain, unit_domain, "
                         f"data_domain); got {type(domain).__name__}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"Expected n to be a positive int (rows to draw); got n={n!r}.")


def _in_box(domain: Domain, u: jax.Array, dtype) -> jax.Array:
    """Maps ``u`` in ``[0, 1]^d`` rows onto the box."""
    return domain.low.astype(dtype)[None, :] + (domain.high - domain.low).astype(dtype)[None, :] * u


def uniform_queries(key: jax.Array, domain: Domain, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` points drawn uniformly from ``domain``: ``[n, d]``."""
    _check_query_args(domain, n)
    return _in_box(domain, jax.random.uniform(key, (n, domain.low.shape[0]), dtype), dtype)


def sparse_queries(key: jax.Array, domain: Domain, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` points of ``domain`` with a random share of features at their low end: ``[n, d]``.

    Each row draws a density ``rho ~ U(0, 1)``; each feature is then uniform
    on ``[low, high]`` with probability ``rho`` and equal to ``low`` otherwise.
    Uniform points concentrate in high dimension (``sum_j x_j`` stays within a
    few ``sqrt(d)`` of ``d / 2``), so a hidden unit ``tanh(w . x + b)`` sees
    a narrow band of its input, often a saturated one, and the equations say
    little about its weights; varying the density spreads ``w . x`` from
    ``b`` to its full range, sparse inputs (one-hot or count features) included.
    The attacker needs nothing but the box.
    """
    _check_query_args(domain, n)
    ku, kr, km = jax.random.split(key, 3)
    d = domain.low.shape[0]
    u = jax.random.uniform(ku, (n, d), dtype)
    rho = jax.random.uniform(kr, (n, 1), dtype)
    u = jnp.where(jax.random.uniform(km, (n, d), dtype) < rho, u, 0.0)
    return _in_box(domain, u, dtype)


QUERY_DISTRIBUTIONS = {"uniform": uniform_queries, "sparse": sparse_queries}


class ExtractionResult(NamedTuple):
    """What an equation-solving extraction returns.

    Attributes:
      params: the stolen parameters, same tree as the candidate model's
        (linear models: ``{"w": [d, c], "b": [c]}``).
      queries: oracle rows spent (int).
      seconds: wall time of the compiled query-and-solve call (float; the
        first call of a configuration includes compilation).
      residual: float, the final relative residual of the equations (linear
        solves) or the final loss (Newton).
      usable: int, queries whose answers entered the equations (answers
        with an underflowed probability are dropped by the log-ratio solve).
    """

    params: Any
    queries: int
    seconds: float
    residual: jax.Array
    usable: jax.Array


def check_domain(domain: Any, num_features: int | None = None) -> Domain:
    if not isinstance(domain, Domain):
        raise ValueError(f"Expected data to be an extraction Domain (box_domain, unit_domain,"
                         f" data_domain); got {type(domain).__name__}.")
    if num_features is not None and domain.num_features != num_features:
        raise ValueError(f"Expected a domain with {num_features} features; got"
                         f" {domain.num_features}.")
    return domain


def check_oracle(oracle: Any, attack: str) -> Oracle:
    if not isinstance(oracle, Oracle):
        raise ValueError(f"Expected target to be a jaxpriv.oracles.Oracle for {attack} (a"
                         f" black-box attack); got {type(oracle).__name__}.")
    return oracle


@functools.lru_cache(maxsize=64)
def cached_jit(fn: Callable, *static: Any) -> Callable:
    """``jax.jit(partial(fn, *static))``, one per distinct static tuple, so a
    second call with the same oracle and config does not recompile.

    Traced and run with float32 matmuls at full precision: equation solving
    recovers parameters from exact answers, and on GPUs and TPUs JAX's default
    rounds matmul inputs to TF32 or bfloat16 (measured on an H100: a binary
    logistic regression extracted from 65 queries then agreed with its target
    on 99.98% of points, not 100%, and Newton solves did not converge). On a
    CPU this changes nothing.
    """
    jitted = jax.jit(functools.partial(fn, *static))

    @functools.wraps(jitted)
    def call(*args):
        with jax.default_matmul_precision("highest"):
            return jitted(*args)

    return call


def timed(fn: Callable, *args) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0
