"""Threshold attacks: one score per record from the target's output vector.

Higher scores mean "more likely a member" (the convention of
:mod:`jaxpriv.metrics`). Scores:

* ``loss``: minus the cross-entropy, ``log p_y`` (Yeom, Giacomelli,
  Fredrikson, Jha, CSF 2018, Section 3.2).
* ``confidence``: the true class's confidence ``p_y`` (Salem et al., NDSS 2019;
  Song and Mittal, USENIX Security 2021).
* ``entropy``: minus the prediction entropy ``-H(p)`` (Salem et al. 2019).
* ``modified_entropy``: minus Song and Mittal's modified entropy
  ``-(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j)`` (USENIX Security 2021,
  Section 3.2), which uses the label.
* ``normalized_entropy``: minus the normalized prediction entropy
  ``H(p) / log C`` that Shokri et al. (S&P 2017, Section VI-C, Fig. 11) use to
  show members get more certain predictions.

A global threshold on any score is the attack; :func:`best_threshold` picks it
from shadow models' in/out scores.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.attacks.membership import _common
from jaxpriv.oracles import PROBABILITIES, TOPK

SCORES = ("loss", "confidence", "entropy", "modified_entropy", "normalized_entropy")


def _xlogy(p, q):
    return jnp.where(p > 0, p * jnp.log(jnp.maximum(q, _common.EPS)), 0.0)


def score_fn(name: str):
    """The score function ``(probs[n, c], y[n]) -> [n]`` called ``name``."""
    _validate.one_of("score", name, SCORES)
    return _SCORE_FNS[name]


def _loss(p, y):
    return jnp.log(jnp.maximum(jnp.take_along_axis(p, y[:, None], axis=1)[:, 0], _common.EPS))


def _confidence(p, y):
    return jnp.take_along_axis(p, y[:, None], axis=1)[:, 0]


def _entropy(p, y):
    return jnp.sum(_xlogy(p, p), axis=1)


def _modified_entropy(p, y):
    py = jnp.take_along_axis(p, y[:, None], axis=1)[:, 0]
    onehot = jax.nn.one_hot(y, p.shape[1], dtype=bool)
    rest = jnp.sum(jnp.where(onehot, 0.0, _xlogy(p, 1.0 - p)), axis=1)
    return (1.0 - py) * jnp.log(jnp.maximum(py, _common.EPS)) + rest


def _normalized_entropy(p, y):
    return _entropy(p, y) / jnp.log(p.shape[1])


_SCORE_FNS = {"loss": _loss, "confidence": _confidence, "entropy": _entropy,
              "modified_entropy": _modified_entropy, "normalized_entropy": _normalized_entropy}


def membership_scores(probs: Any, y: Any, names: tuple[str, ...] = SCORES) -> jax.Array:
    """All requested scores of prediction vectors, ``[len(names), n]``.

    Args:
      probs: float ``[n, c]`` prediction vectors (rows sum to 1, or top-k).
      y: int ``[n]`` labels.
      names: score names from ``SCORES``.
    """
    for nm in names:
        _validate.one_of("score", nm, SCORES)
    return _scores_jit(tuple(names), jnp.asarray(probs, jnp.float32), jnp.asarray(y, jnp.int32))


@functools.partial(jax.jit, static_argnums=0)
def _scores_jit(names, probs, y):
    return jnp.stack([_SCORE_FNS[nm](probs, y) for nm in names])


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThresholdConfig:
    """Which scores to compute (all of ``SCORES`` by default)."""

    scores: tuple[str, ...] = SCORES

    def __post_init__(self):
        if not self.scores:
            raise ValueError("Expected at least one name in scores; got ().")
        for nm in self.scores:
            _validate.one_of("scores", nm, SCORES)


class ThresholdResult(NamedTuple):
    """Result of :func:`threshold_attack`.

    Attributes:
      scores: float32 ``[len(config.scores), m]``, in the order of ``config.scores``.
      queries: rows sent to the target oracle.
    """

    scores: jax.Array
    queries: int


def threshold_attack(key: jax.Array, target: Any, data: tuple[Any, Any],
                     config: ThresholdConfig = ThresholdConfig()) -> ThresholdResult:
    """Scores records by the target's confidence on them (one query per record).

    Args:
      key: unused (the attack is deterministic); kept for the common shape.
      target: an :class:`~jaxpriv.oracles.Oracle` giving probabilities or top-k
        vectors, or a white-box ``(apply_fn, params)``.
      data: ``(x [m, d], y [m])``.
      config: :class:`ThresholdConfig`.

    Returns:
      :class:`ThresholdResult`.

    Example:
      >>> res = threshold_attack(key, oracle, (x, y), ThresholdConfig(scores=("loss",)))
      >>> jaxpriv.metrics.roc_auc(res.scores[0][:n_in], res.scores[0][n_in:])
    """
    del key
    oracle = _common.as_oracle(target)
    oracle.require(PROBABILITIES, TOPK, attack="threshold_attack")
    x, y = _common.check_records(*data, names=("data[0]", "data[1]"))
    before = oracle.queries
    probs = oracle.query(x)
    if probs.shape[1] <= int(y.max()):
        raise ValueError(f"Expected labels data[1] < {probs.shape[1]} (the oracle's classes); "
                         f"got max {int(y.max())}.")
    return ThresholdResult(membership_scores(probs, y, config.scores), oracle.queries - before)


def best_threshold(in_scores: Any, out_scores: Any) -> float:
    """The threshold of the best balanced accuracy (max TPR - FPR) on, e.g.,
    shadow models' member and non-member scores."""
    from jaxpriv import metrics

    roc = metrics.roc_curve(in_scores, out_scores)
    i = int(np.argmax(roc.tpr - roc.fpr))
    return float(roc.thresholds[i])
