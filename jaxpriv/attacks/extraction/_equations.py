"""Equation-solving extraction of logistic models (Tramèr et al., USENIX Security 2016, §4.1).

A logistic model's confidences are a softmax of linear logits, so the log of a
ratio of two returned probabilities is linear in the unknowns:

    log p_k(x) - log p_r(x) = (w_k - w_r) . x + (b_k - b_r).

Binary logistic regression (§4.1.1): one query gives one equation in the
``d + 1`` unknowns ``(w, b)``, so ``d + 1`` random queries and one linear
solve (in float64) recover the model exactly. Multinomial regression
(§4.1.2): each query gives ``c - 1`` equations; the systems of the classes
share one design matrix ``[x, 1]``, so the solve is one least-squares problem
with ``c`` right-hand sides -- dense when it fits, otherwise conjugate
gradients on the normal equations, matrix-free (the Gram matrix of the AT&T
faces system would take 8.7 TFLOP to form).

Against the log-odds form Tramèr et al. solve with gradient descent / BFGS on
a cross-entropy; here the log-ratio system weighs every class equally and is
exact, and centring the queries (``x - centre of the domain``) keeps it well
conditioned (the uniform centred design has a Gram matrix close to ``m/12 I``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxpriv import _validate
from jaxpriv.attacks.extraction._common import (Domain, ExtractionResult, cached_jit,
                                                check_domain, check_oracle, timed)
from jaxpriv.oracles import PROBABILITIES, TOPK, Oracle

SOLVERS = ("auto", "dense", "cg")
REFERENCES = ("first", "mean")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LRConfig:
    """Settings of the logistic-model equation solve (all static).

    Attributes:
      num_classes: ``c`` (2 for binary logistic regression).
      queries: oracle rows ``m`` (default ``d + 1``, the paper's minimum).
      reference: ``"first"``: equations ``log p_k - log p_0`` (the stolen model
        has ``w[:, 0] = 0``, the scikit-learn binary form); ``"mean"``:
        ``log p_k - mean_j log p_j`` (every class weighs the same; the stolen
        parameters are centred over classes).
      solver: ``"dense"`` (least squares by SVD), ``"cg"`` (matrix-free
        conjugate gradients on the normal equations, Jacobi-preconditioned)
        or ``"auto"`` (dense up to ``dense_max`` unknowns per class).
      dense_max: largest ``d + 1`` solved densely by ``"auto"``.
      x64: solve in float64 (``jax.enable_x64(True)`` (the former
        ``jax.experimental.enable_x64``) around this code
        path only); the oracle then also answers in float64.
      center: solve for ``x - centre of the domain`` (better conditioned).
      cg_maxiter: conjugate-gradient iterations at most.
      cg_tol: relative tolerance of conjugate gradients.
      chunk_size: query the oracle this many rows at a time (memory bound;
        ``None``: all at once).
    """

    num_classes: int
    queries: int | None = None
    reference: str = "mean"
    solver: str = "auto"
    dense_max: int = 4096
    x64: bool = True
    center: bool = True
    cg_maxiter: int = 200
    cg_tol: float = 1e-6
    chunk_size: int | None = None

    def __post_init__(self):
        if int(self.num_classes) != self.num_classes or self.num_classes < 2:
            raise ValueError(f"Expected num_classes={self.num_classes!r} >= 2.")
        if self.queries is not None:
            _validate.positive("queries", self.queries)
        _validate.one_of("reference", self.reference, REFERENCES)
        _validate.one_of("solver", self.solver, SOLVERS)
        _validate.positive("dense_max", self.dense_max)
        _validate.positive("cg_maxiter", self.cg_maxiter)
        _validate.positive("cg_tol", self.cg_tol)
        if self.chunk_size is not None:
            _validate.positive("chunk_size", self.chunk_size)


def linear_apply(params: dict, x: jax.Array) -> jax.Array:
    """Logits of a stolen linear model: ``x[n, d] @ w[d, c] + b[c] -> [n, c]``."""
    return x @ params["w"] + params["b"][None, :]


def _ask(pure_fn, key, x, chunk: int | None):
    """Oracle answers for ``x[m, d]``, ``chunk`` rows at a time (``chunk`` divides m)."""
    m = x.shape[0]
    if chunk is None or chunk >= m:
        return pure_fn(key, x)
    xs = x.reshape(m // chunk, chunk, x.shape[1])
    keys = jax.random.split(key, m // chunk)
    out = jax.lax.map(lambda a: pure_fn(a[0], a[1]), (keys, xs))
    return out.reshape((m,) + out.shape[2:])


def _lr_core(pure_fn, config: LRConfig, m: int, chunk, solver: str, key, low, high):
    dtype = jnp.float64 if config.x64 else jnp.float32
    low, high = low.astype(dtype), high.astype(dtype)
    d = low.shape[0]
    kq, ko = jax.random.split(key)
    center = (low + high) / 2 if config.center else jnp.zeros_like(low)
    x = low[None, :] + (high - low)[None, :] * jax.random.uniform(kq, (m, d), dtype)
    p = _ask(pure_fn, ko, x, chunk).astype(dtype)
    xc = x - center[None, :]
    del x
    logp = jnp.log(p)
    ok = jnp.all(jnp.isfinite(logp), axis=1)  # a zero probability has no log-ratio
    logp = jnp.where(ok[:, None], logp, 0.0)
    if config.reference == "first":
        rhs = logp[:, 1:] - logp[:, :1]
    else:
        rhs = logp - jnp.mean(logp, axis=1, keepdims=True)
    w_ok = ok.astype(dtype)[:, None]
    rhs = rhs * w_ok

    # Products with the [m, d] design keep the small class axis k leading in
    # their outputs ([k, m], [k, d]): on CPU that layout runs ~2x faster than
    # ``xc.T @ u``, which dominates the cost of every CG iteration.
    def a_mul(theta):  # [d + 1, k] -> [m, k]
        xt = jax.lax.dot_general(theta[:d], xc, (((0,), (1,)), ((), ())))  # [k, m]
        return (xt.T + theta[d][None, :]) * w_ok

    def at_mul(u):  # [m, k] -> [d + 1, k]
        u = u * w_ok
        xtu = jax.lax.dot_general(u, xc, (((0,), (0,)), ((), ())))  # [k, d]
        return jnp.concatenate([xtu.T, jnp.sum(u, axis=0)[None, :]], axis=0)

    k = rhs.shape[1]
    if solver == "dense":
        # Least squares (SVD) also for the square n + 1 system: it is exact in
        # float64 and gives the minimum-norm answer when a feature never varies.
        a = jnp.concatenate([xc, jnp.ones((m, 1), dtype)], axis=1) * w_ok
        theta = jnp.linalg.lstsq(a, rhs)[0]
    else:
        diag = jnp.concatenate([jnp.sum(jnp.square(xc) * w_ok, axis=0),
                                jnp.sum(w_ok)[None]])
        diag = jnp.maximum(diag, jnp.finfo(dtype).tiny)
        # x0 is passed explicitly: without it, jax 0.10's cg inside jit can
        # evaluate a NaN residual on large systems and silently return zeros.
        theta, _ = jax.scipy.sparse.linalg.cg(
            lambda t: at_mul(a_mul(t)), at_mul(rhs), x0=jnp.zeros((d + 1, k), dtype),
            tol=config.cg_tol, maxiter=config.cg_maxiter, M=lambda t: t / diag[:, None])
    resid = jnp.linalg.norm(a_mul(theta) - rhs) / jnp.maximum(jnp.linalg.norm(rhs),
                                                               jnp.finfo(dtype).tiny)
    w, b = theta[:d], theta[d] - center @ theta[:d]
    if config.reference == "first":
        w = jnp.concatenate([jnp.zeros((d, 1), dtype), w], axis=1)
        b = jnp.concatenate([jnp.zeros((1,), dtype), b])
    return {"w": w, "b": b}, resid, jnp.sum(ok.astype(jnp.int32))


def _chunk(m: int, chunk_size: int | None) -> int | None:
    if chunk_size is None or chunk_size >= m:
        return None
    return next(c for c in range(chunk_size, 0, -1) if m % c == 0)


def extract_lr(key: jax.Array, oracle: Oracle, domain: Domain, config: LRConfig
               ) -> ExtractionResult:
    """Steals a (multinomial) logistic model from its confidences by solving
    the log-ratio equations (Tramèr et al., USENIX Security 2016, §4.1).

    The queries are ``m`` points drawn uniformly from ``domain``; query,
    equations and solve run as one compiled program (the oracle is called
    through :meth:`Oracle.pure_fn` and charged ``m`` rows). With
    ``config.x64`` the queries are float64, so a float32 target's logits are
    promoted and its confidences come back in full double precision (as from
    an API that returns doubles); that is what makes the n + 1 solve exact to
    ~1e-14.

    Args:
      key: PRNG key (queries and oracle noise); same key, same result.
      oracle: returns probabilities ``[n, c]``; values must be exact
        (``oracle.require(..., exact=True)``); a rounding or noisy oracle
        calls for :func:`extract_newton`.
      domain: the query box, ``Domain(low[d], high[d])``.
      config: :class:`LRConfig`.

    Returns:
      :class:`ExtractionResult` with ``params = {"w": [d, c], "b": [c]}``
      (float64 with ``config.x64``) for :func:`linear_apply`; the stolen
      logits equal the target's up to a per-row constant (same softmax).

    Example:
      >>> res = extract_lr(jax.random.key(0), oracle, unit_domain(64), LRConfig(num_classes=10))
      >>> stolen = lambda x: linear_apply(res.params, x)
    """
    oracle = check_oracle(oracle, "extract_lr")
    oracle.require(PROBABILITIES, TOPK, attack="extract_lr", exact=True)
    domain = check_domain(domain)
    d = domain.num_features
    m = d + 1 if config.queries is None else int(config.queries)
    if m < d + 1:
        raise ValueError(f"Expected config.queries={m} >= d + 1 = {d + 1} (one equation per"
                         " unknown of each class).")
    solver = config.solver
    if solver == "auto":
        solver = "dense" if d + 1 <= config.dense_max else "cg"
    oracle.reserve(m)
    fn = cached_jit(_lr_core, oracle.pure_fn, config, m, _chunk(m, config.chunk_size), solver)
    ctx = jax.enable_x64(True) if config.x64 else _null()
    with ctx:
        (params, resid, usable), seconds = timed(fn, key, domain.low, domain.high)
    oracle.charge(m)
    if not all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree_util.tree_leaves(params)) \
            or not bool(jnp.isfinite(resid)):
        raise FloatingPointError(
            f"extract_lr: the {solver} solve returned non-finite parameters (residual"
            f" {float(resid)}); the oracle's answers may underflow (usable rows:"
            f" {int(usable)} of {m}).")
    if params["w"].shape[1] != config.num_classes:
        raise ValueError(f"Expected an oracle with config.num_classes={config.num_classes}"
                         f" outputs; got {params['w'].shape[1]}.")
    return ExtractionResult(params, m, seconds, resid, usable)


def extract_binary_lr(key: jax.Array, oracle: Oracle, domain: Domain,
                      config: LRConfig | None = None) -> ExtractionResult:
    """Binary logistic regression from exactly ``d + 1`` queries and one float64
    linear solve of the log-odds equations ``log(p_1 / p_0) = w . x + b``
    (Tramèr et al., USENIX Security 2016, §4.1.1).

    Args:
      key: PRNG key.
      oracle: two-class probability oracle.
      domain: the query box (``d`` features).
      config: defaults to ``LRConfig(num_classes=2, reference="first")``.

    Returns:
      :class:`ExtractionResult`; ``params["w"][:, 1]`` and ``params["b"][1]``
      are the model's ``coef_`` and ``intercept_`` (column 0 is zero, as in
      :func:`jaxpriv.models.from_sklearn_logistic`).
    """
    config = config or LRConfig(num_classes=2, reference="first")
    if config.num_classes != 2:
        raise ValueError(f"Expected config.num_classes=2 for binary LR; got {config.num_classes}.")
    return extract_lr(key, oracle, domain, config)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def unknowns_lr(num_features: int, num_classes: int) -> int:
    """Free parameters of a c-class logistic model over d features: ``(c - 1)(d + 1)``
    (the paper counts ``c (d + 1)`` for softmax; softmax is invariant to a shift)."""
    return (num_classes - 1) * (num_features + 1)


def paper_unknowns(num_features: int, num_classes: int) -> int:
    """Unknowns as Tramèr et al. count them: ``c (d + 1)`` (``d + 1`` for binary)."""
    return (num_features + 1) * (1 if num_classes == 2 else num_classes)


__all__ = ["LRConfig", "extract_binary_lr", "extract_lr", "linear_apply", "paper_unknowns",
           "unknowns_lr"]
