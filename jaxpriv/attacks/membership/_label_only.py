"""Label-only membership attacks: the oracle returns only the predicted label.

* Gap attack: "member" when the label is right (Yeom et al., CSF 2018,
  Section 3.2; the baseline "gap attack" of Choquette-Choo, Tramèr, Carlini,
  Papernot, "Label-Only Membership Inference Attacks", ICML 2021, Section 4).
* Perturbation robustness: members are classified correctly under more
  perturbations (Choquette-Choo et al. 2021, Section 5, data augmentation and
  random noise): the score is the share of ``num_perturbations`` perturbed
  copies (plus the clean record) the oracle still labels correctly. All
  copies are queried in one compiled call.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxpriv import _validate
from jaxpriv.attacks.membership import _common
from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK

NOISES = ("gaussian", "bitflip")


class LabelOnlyResult(NamedTuple):
    """Result of a label-only attack.

    Attributes:
      scores: float32 ``[m]``; higher means more likely a member.
      queries: rows sent to the oracle.
    """

    scores: jax.Array
    queries: int


def gap_attack(key: jax.Array, target: Any, data: tuple[Any, Any]) -> LabelOnlyResult:
    """Scores 1 when the oracle's label equals the true label, else 0.

    Args:
      key: unused; kept for the common shape.
      target: any classification :class:`~jaxpriv.oracles.Oracle` (labels,
        top-k or probabilities) or a white-box ``(apply_fn, params)``.
      data: ``(x [m, d], y [m])``.
    """
    del key
    oracle = _common.as_oracle(target)
    oracle.require(LABEL, TOPK, PROBABILITIES, attack="gap_attack")
    x, y = _common.check_records(*data, names=("data[0]", "data[1]"))
    before = oracle.queries
    labels = _common.predicted_labels(oracle.query(x))
    return LabelOnlyResult((labels == jnp.asarray(y)).astype(jnp.float32), oracle.queries - before)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerturbationConfig:
    """Settings of :func:`perturbation_attack`.

    Attributes:
      num_perturbations: N perturbed copies per record.
      noise: ``"gaussian"`` (add N(0, sigma^2) per feature, for continuous
        features) or ``"bitflip"`` (flip each binary feature with probability
        ``flip_prob``).
      sigma: Gaussian noise scale.
      flip_prob: bit-flip probability.
      clip: optional ``(lo, hi)`` range to clip perturbed Gaussian records to.
    """

    num_perturbations: int = 32
    noise: str = "gaussian"
    sigma: float = 0.1
    flip_prob: float = 0.05
    clip: tuple[float, float] | None = None

    def __post_init__(self):
        _validate.positive("num_perturbations", self.num_perturbations)
        _validate.one_of("noise", self.noise, NOISES)
        _validate.positive("sigma", self.sigma, allow_zero=True)
        _validate.in_range("flip_prob", self.flip_prob, 0.0, 1.0)
        if self.clip is not None and not self.clip[0] < self.clip[1]:
            raise ValueError(f"Expected clip=(lo, hi) with lo < hi; got {self.clip}.")


@functools.partial(jax.jit, static_argnums=(0, 4))
def _robustness(pure_fn, key, x, y, config: PerturbationConfig):
    k_noise, k_oracle = jax.random.split(key)
    n_pert = config.num_perturbations
    shape = (n_pert,) + x.shape
    if config.noise == "gaussian":
        xs = x[None] + config.sigma * jax.random.normal(k_noise, shape, x.dtype)
        if config.clip is not None:
            xs = jnp.clip(xs, config.clip[0], config.clip[1])
    else:
        flip = jax.random.bernoulli(k_noise, config.flip_prob, shape)
        xs = jnp.where(flip, 1.0 - x[None], x[None])
    xs = jnp.concatenate([x[None], xs], axis=0).reshape((-1, x.shape[1]))
    labels = _common.predicted_labels(pure_fn(k_oracle, xs)).reshape((n_pert + 1, x.shape[0]))
    return jnp.mean((labels == y[None]).astype(jnp.float32), axis=0)


def perturbation_attack(key: jax.Array, target: Any, data: tuple[Any, Any],
                        config: PerturbationConfig = PerturbationConfig()) -> LabelOnlyResult:
    """Label-only attack by robustness to random perturbations.

    Args:
      key: PRNG key for the perturbations (same key, same result).
      target: any classification oracle (labels suffice) or ``(apply_fn, params)``.
      data: ``(x [m, d], y [m])``.
      config: :class:`PerturbationConfig`.

    Returns:
      :class:`LabelOnlyResult`; ``scores`` in ``[0, 1]`` (share correct),
      ``queries = m * (num_perturbations + 1)``.
    """
    oracle = _common.as_oracle(target)
    oracle.require(LABEL, TOPK, PROBABILITIES, attack="perturbation_attack")
    x, y = _common.check_records(*data, names=("data[0]", "data[1]"))
    n = x.shape[0] * (config.num_perturbations + 1)
    oracle.charge(n)
    scores = _robustness(oracle.pure_fn, key, jnp.asarray(x), jnp.asarray(y), config)
    return LabelOnlyResult(scores, n)
