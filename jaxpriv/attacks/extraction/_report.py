"""How well a stolen model matches its target (Tramèr et al. 2016, §3.1 and §4).

``1 - R_test`` is the share of test points on which the stolen model gives
the target's label, ``1 - R_unif`` the same on uniform random points of the
domain (Jagielski et al., USENIX Security 2020, call both *fidelity*, as
opposed to the stolen model's own *accuracy*). The price is what the queries
would cost on a pay-per-query API (Amazon ML and BigML charged $0.0001 per
prediction in 2016, Tramèr et al. §1).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate, metrics
from jaxpriv.attacks.extraction._common import Domain, check_domain, uniform_queries

PRICE_PER_QUERY = 1e-4  # USD per prediction (Amazon ML / BigML, 2016)


def _labels(fn: Callable, x: jax.Array, chunk: int = 4096) -> np.ndarray:
    """``fn``'s labels on ``x``, its matmuls at full float32 precision (as the
    attacks run, see ``cached_jit``: fidelity is then not blurred by TF32 or
    bfloat16 rounding on an accelerator)."""
    outs = []
    for s in range(0, x.shape[0], chunk):
        with jax.default_matmul_precision("highest"):
            out = np.asarray(fn(x[s:s + chunk]))
        outs.append(out if out.ndim == 1 else out.argmax(axis=1))
    return np.concatenate(outs)


def extraction_report(key: jax.Array, target_fn: Callable, stolen_fn: Callable,
                      domain: Domain, *, x_test: Any, y_test: Any | None = None,
                      queries: int, num_uniform: int = 10_000,
                      price_per_query: float = PRICE_PER_QUERY) -> dict[str, float]:
    """Fidelity, accuracy, queries and price of a stolen model.

    Args:
      key: PRNG key for the uniform points.
      target_fn, stolen_fn: ``fn(x[n, d]) -> logits / probabilities [n, c]
        or labels / leaf ids [n]`` (white-box access to the target, for
        evaluation only); both run with full-precision float32 matmuls.
      domain: the box of the uniform points.
      x_test: ``[n, d]`` test points.
      y_test: optional ``[n]`` true labels (for the accuracies).
      queries: oracle rows the attack spent.
      num_uniform: uniform points for ``1 - R_unif``.
      price_per_query: USD per query.

    Returns:
      ``{"1-R_test", "1-R_unif", "queries", "price_usd"}`` and, with
      ``y_test``, ``"stolen_accuracy"`` and ``"target_accuracy"``.
    """
    domain = check_domain(domain)
    x_test = jnp.asarray(_validate.array("x_test", x_test, ndim=2, dtype_kind="fiub"),
                         jnp.float32)
    _validate.positive("num_uniform", num_uniform)
    _validate.positive("queries", queries, allow_zero=True)
    u = uniform_queries(key, domain, int(num_uniform))
    t_test, s_test = _labels(target_fn, x_test), _labels(stolen_fn, x_test)
    out = {
        "1-R_test": metrics.fidelity(s_test, t_test),
        "1-R_unif": metrics.fidelity(_labels(stolen_fn, u), _labels(target_fn, u)),
        "queries": int(queries),
        "price_usd": float(queries) * float(price_per_query),
    }
    if y_test is not None:
        y = _validate.array("y_test", y_test, shape=(x_test.shape[0],), dtype_kind="iu")
        out["stolen_accuracy"] = metrics.accuracy(s_test, y)
        out["target_accuracy"] = metrics.accuracy(t_test, y)
    return out


def max_param_error(stolen: Any, target: Any) -> float:
    """Largest absolute difference between two parameter trees of the same shapes."""
    a = jax.tree_util.tree_leaves(stolen)
    b = jax.tree_util.tree_leaves(target)
    if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError("Expected parameter trees of the same structure and shapes.")
    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)))
                     for x, y in zip(a, b)))


def center_classes(params: dict) -> dict:
    """A linear model's ``{"w": [d, c], "b": [c]}`` with the class mean removed
    (softmax is unchanged; the form :func:`extract_lr` returns with
    ``reference="mean"``), for comparing parameters."""
    w = np.asarray(params["w"], np.float64)
    b = np.asarray(params["b"], np.float64)
    return {"w": w - w.mean(axis=1, keepdims=True), "b": b - b.mean()}


__all__ = ["PRICE_PER_QUERY", "center_classes", "extraction_report", "max_param_error"]
