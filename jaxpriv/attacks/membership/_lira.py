"""The likelihood-ratio attack (LiRA) of Carlini et al.

Carlini, Chien, Nasr, Song, Terzis, Tramèr, "Membership Inference Attacks
From First Principles", IEEE S&P 2022, Section IV: for each record, fit
Gaussians to the logit-scaled confidences ``phi = log(p_y / (1 - p_y))`` of
shadow models that trained on it (``in``) and did not (``out``); score the
target's ``phi`` by the likelihood ratio (online, Algorithm 1) or by the
one-sided tail of the ``out`` Gaussian (offline, Section VI-C). With few shadow
models the per-example variances are unreliable; ``fixed_variance`` uses one
pooled variance for all records (Section VI-B).

Everything is one jitted pass: masked means and variances over the model axis,
then the scores for every record (and, in :func:`lira_leave_one_out`, for
every shadow model taken in turn as the target).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from jaxpriv import _validate
from jaxpriv.attacks.membership import _common
from jaxpriv.oracles import PROBABILITIES, TOPK


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiraConfig:
    """LiRA settings.

    Attributes:
      online: use the ``in`` Gaussians too (likelihood ratio); else offline
        (``out`` Gaussians only).
      fixed_variance: one variance per side pooled over all records (the
        mean of the per-record variances) instead of per-record variances.
      min_std: floor on the standard deviations.
    """

    online: bool = True
    fixed_variance: bool = False
    min_std: float = 1e-3

    def __post_init__(self):
        _validate.positive("min_std", self.min_std)


class LiraResult(NamedTuple):
    """Result of :func:`lira_attack`.

    Attributes:
      scores: float32 ``[n]``; higher means more likely a member.
      phi: float32 ``[n]`` the target's logit-scaled confidences.
      queries: rows sent to the target oracle.
    """

    scores: jax.Array
    phi: jax.Array
    queries: int


def _moments(phi, w, fixed, min_std):
    """Masked mean and std over the model axis: ``phi, w [K, n] -> [n], [n]``."""
    cnt = jnp.sum(w, axis=0)
    mean = jnp.sum(w * phi, axis=0) / jnp.maximum(cnt, 1.0)
    var = jnp.sum(w * jnp.square(phi - mean[None]), axis=0) / jnp.maximum(cnt - 1.0, 1.0)
    if fixed:
        ok = (cnt > 1).astype(phi.dtype)
        pooled = jnp.sum(var * ok) / jnp.maximum(jnp.sum(ok), 1.0)
        var = jnp.broadcast_to(pooled, var.shape)
    return mean, jnp.maximum(jnp.sqrt(var), min_std)


def _normal_logpdf(x, mean, std):
    z = (x - mean) / std
    return -0.5 * jnp.square(z) - jnp.log(std) - 0.5 * jnp.log(2.0 * jnp.pi)


def _score(target_phi, shadow_phi, w_in, w_out, online, fixed, min_std):
    mu_out, sd_out = _moments(shadow_phi, w_out, fixed, min_std)
    if not online:
        return log_ndtr((target_phi - mu_out) / sd_out)
    mu_in, sd_in = _moments(shadow_phi, w_in, fixed, min_std)
    return _normal_logpdf(target_phi, mu_in, sd_in) - _normal_logpdf(target_phi, mu_out, sd_out)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _scores_jit(target_phi, shadow_phi, in_mask, online, fixed, min_std):
    w_in = in_mask.astype(jnp.float32)
    return _score(target_phi, shadow_phi, w_in, 1.0 - w_in, online, fixed, min_std)


def _check(shadow_phi, in_mask):
    phi = _validate.array("shadow_phi", shadow_phi, ndim=2, dtype_kind="f")
    mask = _validate.array("in_mask", in_mask, shape=phi.shape, dtype_kind="biuf")
    return jnp.asarray(phi, jnp.float32), jnp.asarray(mask, bool)


def lira_scores(target_phi: Any, shadow_phi: Any, in_mask: Any,
                config: LiraConfig = LiraConfig()) -> jax.Array:
    """LiRA scores from logit-scaled confidences, in one jitted pass.

    Args:
      target_phi: float ``[n]`` the target's ``phi`` on each record (or
        ``[T, n]`` for T targets at once).
      shadow_phi: float ``[K, n]`` each shadow model's ``phi``.
      in_mask: bool ``[K, n]`` which records each shadow model trained on.
      config: :class:`LiraConfig`.

    Returns:
      float32 ``[n]`` (or ``[T, n]``) scores; higher means member.
    """
    phi, mask = _check(shadow_phi, in_mask)
    t = _validate.array("target_phi", target_phi, dtype_kind="f")
    if t.shape[-1] != phi.shape[1] or t.ndim not in (1, 2):
        raise ValueError(f"Expected target_phi with shape ({phi.shape[1]},) or (T, {phi.shape[1]});"
                         f" got {t.shape}.")
    fn = lambda tp: _scores_jit(tp, phi, mask, config.online, config.fixed_variance,
                                jnp.float32(config.min_std))
    return fn(jnp.asarray(t, jnp.float32))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _loo_jit(shadow_phi, in_mask, targets, online, fixed, min_std):
    w_in = in_mask.astype(jnp.float32)

    def one(t):
        keep = (jnp.arange(shadow_phi.shape[0]) != t).astype(jnp.float32)[:, None]
        return _score(shadow_phi[t], shadow_phi, w_in * keep, (1.0 - w_in) * keep, online, fixed,
                      min_std)

    return jax.vmap(one)(targets)


def lira_leave_one_out(shadow_phi: Any, in_mask: Any, targets: Any,
                       config: LiraConfig = LiraConfig()) -> jax.Array:
    """Takes each shadow model in ``targets`` as the target, the others as
    references: ``[T, n]`` scores in one jitted pass (vmapped over targets).

    Pooled over targets, the evaluation has ``T * n`` (member, non-member)
    decisions, enough for TPR at 0.1% FPR to mean something (Carlini et al.
    2022, Section V-A evaluate this way). Truth: ``in_mask[targets]``.
    """
    phi, mask = _check(shadow_phi, in_mask)
    tg = _validate.array("targets", targets, ndim=1, dtype_kind="iu")
    if tg.min() < 0 or tg.max() >= phi.shape[0]:
        raise ValueError(f"Expected targets in [0, {phi.shape[0] - 1}]; got values in "
                         f"[{tg.min()}, {tg.max()}].")
    if phi.shape[0] < 3:
        raise ValueError(f"Expected at least 3 shadow models for leave-one-out; got {phi.shape[0]}.")
    return _loo_jit(phi, mask, jnp.asarray(tg, jnp.int32), config.online, config.fixed_variance,
                    jnp.float32(config.min_std))


@functools.partial(jax.jit, static_argnums=0)
def _phi_jit(apply_fn, params, x, y):
    probs = jax.vmap(lambda p: jax.nn.softmax(apply_fn(p, x), axis=-1))(params)
    return _common.logit_confidence(probs, y)


def shadow_phi(apply_fn, params: Any, x: Any, y: Any) -> jax.Array:
    """Logit-scaled confidences of K stacked models on the same records: ``[K, n]``."""
    xa, ya = _common.check_records(x, y)
    return _phi_jit(apply_fn, params, jnp.asarray(xa), jnp.asarray(ya))


def lira_attack(key: jax.Array, target: Any, data: tuple[Any, Any, Any, Any],
                config: LiraConfig = LiraConfig()) -> LiraResult:
    """LiRA against a target (Carlini et al., S&P 2022, Algorithm 1).

    Args:
      key: unused (deterministic); kept for the common shape.
      target: an :class:`~jaxpriv.oracles.Oracle` with exact probabilities
        (or a white-box ``(apply_fn, params)``).
      data: ``(x [n, d], y [n], shadow_phi [K, n], in_mask [K, n])``: the
        records, and the shadow models' ``phi`` on them
        (:func:`shadow_phi`) with their membership.
      config: :class:`LiraConfig`.

    Returns:
      :class:`LiraResult`; ``queries = n``.
    """
    del key
    x, y, sphi, mask = data
    oracle = _common.as_oracle(target)
    oracle.require(PROBABILITIES, TOPK, attack="lira_attack")
    xa, ya = _common.check_records(x, y, names=("data[0]", "data[1]"))
    phi, m = _check(sphi, mask)
    if phi.shape[1] != xa.shape[0]:
        raise ValueError(f"Expected shadow_phi with {xa.shape[0]} columns (one per record); "
                         f"got {phi.shape}.")
    before = oracle.queries
    probs = oracle.query(xa)
    tphi = _common.logit_confidence(probs, jnp.asarray(ya))
    scores = _scores_jit(tphi, phi, m, config.online, config.fixed_variance,
                         jnp.float32(config.min_std))
    return LiraResult(scores, tphi, oracle.queries - before)


def pooled_in_out(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flattens ``[T, n]`` scores and membership into ``(in_scores, out_scores)``."""
    s = np.asarray(scores).reshape(-1)
    t = np.asarray(truth, bool).reshape(-1)
    if s.shape != t.shape:
        raise ValueError(f"Expected scores and truth with the same size; got {s.size}, {t.size}.")
    return s[t], s[~t]
