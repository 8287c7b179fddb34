"""Extraction from labels only (Tramèr et al., USENIX Security 2016, §5).

* :func:`lowd_meek` -- the Lowd-Meek attack on a binary linear classifier
  (Lowd and Meek, KDD 2005; Tramèr et al. §5.1, "line search"): bisect the
  segment between points of the two classes down to the decision boundary;
  ``d`` boundary points in general position satisfy ``w . x + b = 0`` and the
  null vector of ``[X, 1]`` gives ``(w, b)`` up to a positive scale. All the
  bisections run in lockstep in one compiled program.
* :func:`extract_retrain` -- the retraining strategies of §5.2: train a model
  of the attacker's choice on labels of ``uniform`` random queries, on points
  moved next to the boundary by ``line_search``, or on points picked
  ``adaptive``-ly (rounds of active learning: query the candidates the
  current model is least sure about; Cohn, Atlas and Ladner 1994).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv.attacks.extraction._common import (Domain, ExtractionResult, cached_jit,
                                                check_domain, check_oracle, timed)
from jaxpriv.attacks.extraction._equations import _null
from jaxpriv.models import Model
from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK, Oracle
from jaxpriv import training

STRATEGIES = ("uniform", "line_search", "adaptive")


def _labels(pure_fn, key, x):
    out = pure_fn(key, x)
    return out if out.ndim == 1 else jnp.argmax(out, axis=-1).astype(jnp.int32)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LowdMeekConfig:
    """Settings of the Lowd-Meek line search (static).

    Attributes:
      boundary_points: points found on the boundary (default ``d``; more
        gives a least-squares fit of the null vector).
      pool: random points queried first to find one point of each class.
      steps: bisection steps per boundary point (float64: 52 reach the
        resolution of the segment).
      x64: bisect and solve in float64 (``jax.enable_x64(True)`` locally).
    """

    boundary_points: int | None = None
    pool: int = 64
    steps: int = 52
    x64: bool = True

    def __post_init__(self):
        if self.boundary_points is not None:
            _validate.positive("boundary_points", self.boundary_points)
        _validate.positive("pool", self.pool)
        _validate.positive("steps", self.steps)


def _lowd_meek_core(pure_fn, config: LowdMeekConfig, nb: int, key, low, high):
    dtype = jnp.float64 if config.x64 else jnp.float32
    low, high = low.astype(dtype), high.astype(dtype)
    d = low.shape[0]
    kp, kz, k1, k2, k3 = jax.random.split(key, 5)
    draw = lambda k, n: low[None] + (high - low)[None] * jax.random.uniform(k, (n, d), dtype)
    pool = draw(kp, config.pool)
    yp = _labels(pure_fn, k1, pool)
    pos, neg = pool[jnp.argmax(yp == 1)], pool[jnp.argmax(yp == 0)]
    found = jnp.any(yp == 1) & jnp.any(yp == 0)
    z = draw(kz, nb)
    yz = _labels(pure_fn, k2, z)
    anchor = jnp.where((yz == 1)[:, None], neg[None], pos[None])  # opposite class
    # Bisect t in [0, 1] on z + t (anchor - z): label(t=0) = yz, label(t=1) != yz.

    def body(i, lohi):
        lo, hi = lohi
        mid = (lo + hi) / 2
        y = _labels(pure_fn, jax.random.fold_in(k3, i), z + mid[:, None] * (anchor - z))
        same = y == yz
        return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

    lo, hi = jax.lax.fori_loop(0, config.steps, body,
                               (jnp.zeros((nb,), dtype), jnp.ones((nb,), dtype)))
    t = (lo + hi) / 2
    xb = z + t[:, None] * (anchor - z)
    a = jnp.concatenate([xb, jnp.ones((nb, 1), dtype)], axis=1)
    _, _, vt = jnp.linalg.svd(a, full_matrices=True)
    theta = vt[-1]
    sign = jnp.sign(pos @ theta[:d] + theta[d])
    theta = theta * jnp.where(sign == 0, 1.0, sign)
    w, b = theta[:d], theta[d]
    params = {"w": jnp.stack([jnp.zeros_like(w), w], axis=1),
              "b": jnp.stack([jnp.zeros_like(b), b])}
    resid = jnp.linalg.norm(a @ theta) / jnp.sqrt(nb)
    return params, resid, found


def lowd_meek(key: jax.Array, oracle: Oracle, domain: Domain,
              config: LowdMeekConfig = LowdMeekConfig()) -> ExtractionResult:
    """Steals a binary linear classifier from labels alone (Lowd and Meek,
    KDD 2005; Tramèr et al., USENIX Security 2016, §5.1).

    Args:
      key: PRNG key.
      oracle: returns labels in {0, 1} (or probabilities, reduced to labels).
      domain: the query box (``d`` features).
      config: :class:`LowdMeekConfig`.

    Returns:
      :class:`ExtractionResult`; ``params = {"w": [d, 2], "b": [2]}`` with
      column 1 the recovered ``(w, b)`` scaled to unit norm (labels fix it
      only up to a positive scale) and column 0 zero, for
      :func:`linear_apply`. ``queries = pool + boundary_points * (1 + steps)``.
    """
    oracle = check_oracle(oracle, "lowd_meek")
    oracle.require(LABEL, PROBABILITIES, TOPK, attack="lowd_meek")
    domain = check_domain(domain)
    d = domain.num_features
    nb = d if config.boundary_points is None else int(config.boundary_points)
    if nb < d:
        raise ValueError(f"Expected config.boundary_points={nb} >= d={d}.")
    m = config.pool + nb * (1 + config.steps)
    oracle.reserve(m)
    fn = cached_jit(_lowd_meek_core, oracle.pure_fn, config, nb)
    with jax.enable_x64(True) if config.x64 else _null():
        (params, resid, found), seconds = timed(fn, key, domain.low, domain.high)
    oracle.charge(m)
    if not bool(found):
        raise ValueError(f"lowd_meek: the {config.pool} pool queries all got the same label;"
                         " increase config.pool or widen the domain.")
    return ExtractionResult(params, m, seconds, resid, jnp.asarray(nb))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetrainConfig:
    """Settings of label-only retraining (Tramèr et al. 2016, §5.2).

    Attributes:
      model: the architecture the attacker trains.
      strategy: ``"uniform"``, ``"line_search"`` or ``"adaptive"``.
      queries: the query budget ``m``.
      rounds: adaptive rounds (``m / rounds`` queries each).
      line_steps: bisection steps of each line search.
      candidates: random candidates scored per adaptive round (free: not queried).
      train_steps, learning_rate, l2: training of the stolen model: full-batch
        Adam steps on the (weighted) cross-entropy plus ``l2 / 2 |w|^2``, one
        ``lax.scan`` compiled once and reused by every round.
    """

    model: Model
    strategy: str = "adaptive"
    queries: int = 1000
    rounds: int = 10
    line_steps: int = 8
    candidates: int = 4096
    train_steps: int = 300
    learning_rate: float = 5e-2
    l2: float = 0.0

    def __post_init__(self):
        if not isinstance(self.model, Model):
            raise ValueError(f"Expected model to be a jaxpriv.models.Model; got"
                             f" {type(self.model).__name__}.")
        _validate.one_of("strategy", self.strategy, STRATEGIES)
        _validate.positive("queries", self.queries)
        _validate.positive("rounds", self.rounds)
        _validate.positive("line_steps", self.line_steps)
        _validate.positive("candidates", self.candidates)
        _validate.positive("train_steps", self.train_steps)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.positive("l2", self.l2, allow_zero=True)
        if self.strategy == "adaptive" and self.queries < 2 * self.rounds:
            raise ValueError(f"Expected queries={self.queries} >= 2 * rounds={self.rounds}.")


def _ask_labels(pure_fn, key, x):
    return _labels(pure_fn, key, x)


def _line_points(pure_fn, steps: int, key, x, y):
    """Bisects between each ``x[i]`` and a point of another label; returns the
    points just on ``x[i]``'s side and across, with their labels."""
    n = x.shape[0]
    kp, kb = jax.random.split(key)
    partner = jax.random.permutation(kp, n)
    other = x[partner]
    differ = y[partner] != y

    def body(i, lohi):
        lo, hi = lohi
        mid = (lo + hi) / 2
        lab = _labels(pure_fn, jax.random.fold_in(kb, i), x + mid[:, None] * (other - x))
        same = lab == y
        return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

    lo, hi = jax.lax.fori_loop(0, steps, body, (jnp.zeros((n,)), jnp.ones((n,))))
    near = x + lo[:, None] * (other - x)
    across = x + hi[:, None] * (other - x)
    return near, across, y[partner], differ


def _train(model: Model, steps: int, learning_rate: float, l2: float, key, params, x, y, w):
    """``steps`` full-batch Adam steps on the weighted cross-entropy."""
    tx = optax.adam(learning_rate)

    def loss(p):
        per = optax.softmax_cross_entropy_with_integer_labels(model.apply(p, x), y)
        return jnp.sum(w * per) / jnp.maximum(jnp.sum(w), 1.0) + l2 * training.l2_penalty(p)

    def step(carry, _):
        p, s = carry
        g = jax.grad(loss)(p)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params


def _init(model: Model, key, x):
    return model.init(key, x[:1])


def _margin_pick(model: Model, n: int, params, cand):
    top2 = jax.lax.top_k(model.apply(params, cand), 2)[0]
    return jnp.argsort(top2[:, 0] - top2[:, 1])[:n]


def extract_retrain(key: jax.Array, oracle: Oracle, domain: Domain, config: RetrainConfig
                    ) -> ExtractionResult:
    """Trains a copy of a label-only model on chosen queries (Tramèr et al.,
    USENIX Security 2016, §5.2: uniform, line-search and adaptive retraining).

    ``uniform`` spends the budget on uniform random points. ``line_search``
    spends a quarter on uniform points and the rest on bisections between
    points of different labels, training on the points found on either side
    of the boundary (``line_steps`` queries each). ``adaptive`` spends
    ``m / rounds`` queries per round: the first round uniform, each later one
    on the random candidates with the smallest margin under the current
    stolen model, retraining on all labels so far. Training data live in one
    ``[m, d]`` buffer with 0/1 weights, so one compiled trainer serves every
    round and strategy.

    Args:
      key: PRNG key.
      oracle: returns labels (or probabilities, reduced to labels).
      domain: the query box.
      config: :class:`RetrainConfig`.

    Returns:
      :class:`ExtractionResult` with the stolen ``config.model`` parameters;
      ``residual`` = the stolen model's error on its own training labels,
      ``usable`` = training points.
    """
    oracle = check_oracle(oracle, "extract_retrain")
    oracle.require(LABEL, PROBABILITIES, TOPK, attack="extract_retrain")
    domain = check_domain(domain, config.model.num_features)
    m = int(config.queries)
    oracle.reserve(m)
    t0 = time.perf_counter()
    q0 = oracle.queries
    d = domain.num_features
    ask = cached_jit(_ask_labels, oracle.pure_fn)
    kq, kt, kl = jax.random.split(key, 3)

    def draw(k, n):
        u = jax.random.uniform(k, (n, d))
        return domain.low[None, :] + (domain.high - domain.low)[None, :] * u

    # Training buffer: 2m rows (line search adds two points per search).
    cap = 2 * m
    xb = jnp.zeros((cap, d), jnp.float32)
    yb = jnp.zeros((cap,), jnp.int32)
    wb = np.zeros((cap,), np.float32)
    used = 0

    def add(xn, yn):
        nonlocal xb, yb, used
        n = xn.shape[0]
        xb = xb.at[used:used + n].set(xn)
        yb = yb.at[used:used + n].set(yn)
        wb[used:used + n] = 1.0
        used += n

    # Keyed by the training settings only: strategies and oracles share it.
    train = cached_jit(_train, config.model, config.train_steps, config.learning_rate,
                       config.l2)
    params = cached_jit(_init, config.model)(kt, xb)
    if config.strategy == "uniform":
        x = draw(kq, m)
        add(x, ask(oracle.next_key(), x))
        oracle.charge(m)
        params = train(kt, params, xb, yb, jnp.asarray(wb))
    elif config.strategy == "line_search":
        n0 = max(2, m // 4)
        x0 = draw(kq, n0)
        y0 = ask(oracle.next_key(), x0)
        oracle.charge(n0)
        add(x0, y0)
        pairs = min((m - n0) // config.line_steps, n0)
        if pairs > 0:
            near, across, y_other, differ = cached_jit(_line_points, oracle.pure_fn,
                                                       config.line_steps)(
                kl, x0[:pairs], y0[:pairs])
            oracle.charge(pairs * config.line_steps)
            keep = np.asarray(differ)
            add(near[keep], y0[:pairs][keep])
            add(across[keep], y_other[keep])
        params = train(kt, params, xb, yb, jnp.asarray(wb))
    else:
        per = m // config.rounds
        x = draw(kq, per)
        add(x, ask(oracle.next_key(), x))
        oracle.charge(per)
        params = train(kt, params, xb, yb, jnp.asarray(wb))
        for r in range(1, config.rounds):  # rounds are sequential: each needs the last model
            n_r = per if r < config.rounds - 1 else m - used
            cand = draw(jax.random.fold_in(kq, r), config.candidates)
            xn = cand[cached_jit(_margin_pick, config.model, n_r)(params, cand)]
            add(xn, ask(oracle.next_key(), xn))
            oracle.charge(n_r)
            params = train(jax.random.fold_in(kt, r), params, xb, yb, jnp.asarray(wb))
    pred = jnp.argmax(config.model.apply(params, xb[:used]), axis=-1)
    err = jnp.mean((pred != yb[:used]).astype(jnp.float32))
    return ExtractionResult(params, oracle.queries - q0, time.perf_counter() - t0, err,
                            jnp.asarray(used))


__all__ = ["LowdMeekConfig", "RetrainConfig", "STRATEGIES", "extract_retrain", "lowd_meek"]
