"""Shadow training data for an attacker without the target's data.

Shokri, Stronati, Song, Shmatikov, S&P 2017, Section IV-C:

* :func:`marginal_synthesis` ("statistics-based synthesis"): every feature
  drawn independently from its marginal distribution (here the empirical
  per-class marginal of a sample the attacker holds).
* :func:`noisy_synthesis` ("noisy real data"): real records with a share of
  their binary features flipped (the paper flips 10% or 20%).
* :func:`hill_climb_synthesis` ("model-based synthesis", Algorithm 1): hill
  climbing in record space guided by the target's confidence, for many
  records at once in one compiled ``lax.while_loop`` (each record has its own
  state and stop rule), querying the target through its oracle.
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

DOMAINS = ("binary", "unit")


def marginal_synthesis(key: jax.Array, x: Any, y: Any, n: int, num_classes: int) -> tuple[jax.Array, jax.Array]:
    """Records with each feature drawn independently from its per-class marginal.

    Labels follow the class frequencies of ``y``; feature j of a record of
    class c is feature j of a random row of class c, independently per feature.

    Args:
      key: PRNG key.
      x: float ``[r, d]`` a sample whose marginals the attacker knows.
      y: int ``[r]`` its labels.
      n: number of records to draw.
      num_classes: C.

    Returns:
      ``(x_syn [n, d], y_syn [n])``.
    """
    xa, ya = _common.check_records(x, y, num_classes)
    _validate.positive("n", n)
    order = np.argsort(ya, kind="stable")
    counts = np.bincount(ya, minlength=num_classes)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return _marginal_jit(key, jnp.asarray(xa[order]), jnp.asarray(counts, jnp.int32),
                         jnp.asarray(offsets, jnp.int32), int(n))


@functools.partial(jax.jit, static_argnums=4)
def _marginal_jit(key, xs, counts, offsets, n):
    k_y, k_r = jax.random.split(key)
    y = jax.random.categorical(k_y, jnp.log(counts.astype(jnp.float32)), shape=(n,))
    u = jax.random.uniform(k_r, (n, xs.shape[1]))
    rows = offsets[y][:, None] + jnp.floor(u * counts[y][:, None]).astype(jnp.int32)
    return jnp.take_along_axis(xs, rows, axis=0), y.astype(jnp.int32)


def noisy_synthesis(key: jax.Array, x: Any, flip_fraction: float) -> jax.Array:
    """Flips exactly ``round(flip_fraction * d)`` random binary features of each record.

    Args:
      key: PRNG key.
      x: ``[n, d]`` binary (0/1) records.
      flip_fraction: share of features flipped per record (the paper: 0.1, 0.2).

    Returns:
      ``[n, d]`` noisy records (keep the original labels).
    """
    xa = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    if not np.all((xa == 0) | (xa == 1)):
        raise ValueError("Expected x with binary (0/1) features for noisy_synthesis.")
    _validate.in_range("flip_fraction", flip_fraction, 0.0, 1.0)
    k = int(round(flip_fraction * xa.shape[1]))
    return _noisy_jit(key, jnp.asarray(xa, jnp.float32), k)


@functools.partial(jax.jit, static_argnums=2)
def _noisy_jit(key, x, k):
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(key, x.shape), axis=1), axis=1)
    return jnp.where(rank < k, 1.0 - x, x)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SynthesisConfig:
    """Algorithm 1 of Shokri et al. (2017); names as in the paper.

    Attributes:
      num_features: d.
      k_max: features randomised per step at the start.
      k_min: the floor k is halved down to.
      conf_min: minimum target confidence to accept a record.
      rej_max: consecutive rejections before halving k.
      iter_max: maximum iterations (queries) per record.
      domain: feature values: ``"binary"`` (random bits) or ``"unit"``
        (uniform in [0, 1]).
    """

    num_features: int
    k_max: int = 64
    k_min: int = 4
    conf_min: float = 0.2
    rej_max: int = 10
    iter_max: int = 200
    domain: str = "binary"

    def __post_init__(self):
        _validate.positive("num_features", self.num_features)
        _validate.positive("k_min", self.k_min)
        if not self.k_min <= self.k_max <= self.num_features:
            raise ValueError(f"Expected k_min <= k_max <= num_features; got k_min={self.k_min}, "
                             f"k_max={self.k_max}, num_features={self.num_features}.")
        _validate.in_range("conf_min", self.conf_min, 0.0, 1.0)
        _validate.positive("rej_max", self.rej_max, allow_zero=True)
        _validate.positive("iter_max", self.iter_max)
        _validate.one_of("domain", self.domain, DOMAINS)


class SynthesisResult(NamedTuple):
    """Result of :func:`hill_climb_synthesis`.

    Attributes:
      x: float32 ``[n, d]`` synthetic records (the last accepted record x*
        where synthesis failed).
      y: int32 ``[n]`` the class each record was synthesised for.
      success: bool ``[n]`` Algorithm 1 returned a record (not ⊥).
      iterations: int32 ``[n]`` queries spent on each record.
      queries: total rows sent to the oracle.
    """

    x: jax.Array
    y: jax.Array
    success: jax.Array
    iterations: jax.Array
    queries: int


def _random_values(key, shape, domain):
    if domain == "binary":
        return jax.random.bernoulli(key, 0.5, shape).astype(jnp.float32)
    return jax.random.uniform(key, shape)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _hill_climb(pure_fn, key, classes, config: SynthesisConfig, budget):
    n, d = classes.shape[0], config.num_features
    k0, key = jax.random.split(key)
    x0 = _random_values(k0, (n, d), config.domain)

    def randomize(key, x_star, k):
        k_pos, k_val = jax.random.split(key)
        # k random features per record: those whose random rank is below k.
        rank = jnp.argsort(jnp.argsort(jax.random.uniform(k_pos, (n, d)), axis=1), axis=1)
        vals = _random_values(k_val, (n, d), config.domain)
        return jnp.where(rank < k[:, None], vals, x_star)

    state = dict(
        x=x0, x_star=x0, y_star=jnp.zeros(n), j=jnp.zeros(n, jnp.int32),
        k=jnp.full(n, config.k_max, jnp.int32), done=jnp.zeros(n, bool),
        iters=jnp.zeros(n, jnp.int32), it=jnp.int32(0), queries=jnp.int32(0), key=key)

    def cond(s):
        active = jnp.sum(~s["done"])
        return (s["it"] < config.iter_max) & (active > 0) & (s["queries"] + active <= budget)

    def body(s):
        key, k_q, k_acc, k_rand = jax.random.split(s["key"], 4)
        live = ~s["done"]
        y = pure_fn(k_q, s["x"])
        yc = jnp.take_along_axis(y, classes[:, None], axis=1)[:, 0]
        accept = yc >= s["y_star"]
        good = accept & (yc > config.conf_min) & (jnp.argmax(y, axis=1) == classes)
        sampled = good & (jax.random.uniform(k_acc, (n,)) < yc)
        finish = live & sampled
        upd = live & accept & ~sampled
        x_star = jnp.where(upd[:, None], s["x"], s["x_star"])
        x_star = jnp.where(finish[:, None], s["x"], x_star)
        y_star = jnp.where(upd, yc, s["y_star"])
        rej = live & ~accept
        j = jnp.where(upd, 0, jnp.where(rej, s["j"] + 1, s["j"]))
        halve = rej & (j > config.rej_max)
        k = jnp.where(halve, jnp.maximum(config.k_min, (s["k"] + 1) // 2), s["k"])
        j = jnp.where(halve, 0, j)
        x_next = randomize(k_rand, x_star, k)
        done = s["done"] | finish
        return dict(x=jnp.where(done[:, None], s["x"], x_next), x_star=x_star, y_star=y_star,
                    j=j, k=k, done=done, iters=s["iters"] + live.astype(jnp.int32),
                    it=s["it"] + 1, queries=s["queries"] + jnp.sum(live).astype(jnp.int32),
                    key=key)

    s = jax.lax.while_loop(cond, body, state)
    return s["x_star"], s["done"], s["iters"], s["queries"]


def hill_climb_synthesis(key: jax.Array, target: Any, classes: Any,
                         config: SynthesisConfig) -> SynthesisResult:
    """Model-based synthesis (Shokri et al. 2017, Algorithm 1) for many records at once.

    Each record starts random and, at every iteration, is re-proposed by
    randomising ``k`` features of the best record so far ``x*``; a proposal is
    accepted when the target's confidence in its class does not drop; a record
    is returned (with probability equal to that confidence) once the target
    predicts its class with confidence above ``conf_min``; ``k`` halves (down
    to ``k_min``) after ``rej_max`` consecutive rejections. All records run in
    one compiled loop; each query batch goes through the oracle's pure
    function, and the rows actually sent are charged to the oracle. The loop
    also stops before it would pass the oracle's query budget.

    Args:
      key: PRNG key.
      target: an :class:`~jaxpriv.oracles.Oracle` with probability (or
        top-k) outputs, or a white-box ``(apply_fn, params)``.
      classes: int ``[n]`` the class to synthesise each record for.
      config: :class:`SynthesisConfig`.

    Returns:
      :class:`SynthesisResult`.

    Example:
      >>> res = hill_climb_synthesis(key, oracle, jnp.repeat(jnp.arange(30), 10),
      ...                            SynthesisConfig(num_features=446))
      >>> x_syn, y_syn = res.x[res.success], res.y[res.success]
    """
    oracle = _common.as_oracle(target)
    oracle.require(PROBABILITIES, TOPK, attack="hill_climb_synthesis")
    c = _validate.array("classes", classes, ndim=1, dtype_kind="iu")
    if c.min() < 0:
        raise ValueError(f"Expected classes >= 0; got min {c.min()}.")
    remaining = oracle.remaining
    budget = np.int32(np.iinfo(np.int32).max if remaining is None else remaining)
    cj = jnp.asarray(c, jnp.int32)
    x, done, iters, queries = _hill_climb(oracle.pure_fn, key, cj, config, budget)
    queries = int(queries)
    oracle.charge(queries)
    return SynthesisResult(x, cj, done, iters, queries)
