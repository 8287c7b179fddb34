"""Extraction by Newton's method on the loss between the oracle and a candidate
(Tramèr et al., USENIX Security 2016, §4.1.2 and §4.1.3: multinomial
regression and multilayer perceptrons as non-linear equation solving).

The attacker picks an architecture, draws ``m`` uniform queries, records the
oracle's probability vectors ``p(x)`` and fits the candidate ``q_theta`` by
minimising the mean ``KL(p(x) || q_theta(x))`` over the queries with a damped
(Levenberg-Marquardt) Newton method. The paper minimises the same
cross-entropy with gradient descent / L-BFGS; Newton converges in a few dozen
steps and each step runs inside the compiled program.

Curvature: ``"hessian"`` (the exact Hessian: the dense matrix when the
model has at most ``dense_max`` parameters, else Hessian-vector products and
conjugate gradients), or ``"gauss_newton"`` (the generalised Gauss-Newton
matrix ``J^T (diag q - q q^T) J``, positive semi-definite, so conjugate
gradients stay well defined on non-convex models such as MLPs). For softmax
regression the two coincide (the logits are linear in the parameters).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxpriv import _validate
from jaxpriv.attacks.extraction._common import (Domain, ExtractionResult, cached_jit,
                                                check_domain, check_oracle, timed)
from jaxpriv.attacks.extraction._equations import _ask, _chunk, _null
from jaxpriv.models import Model, count_params
from jaxpriv.oracles import PROBABILITIES, TOPK, Oracle

CURVATURES = ("hessian", "gauss_newton")
NEWTON_SOLVERS = ("auto", "dense", "cg")


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewtonConfig:
    """Settings of the Newton extraction (static).

    Attributes:
      model: the candidate architecture (a :class:`jaxpriv.models.Model`;
        ``model.init`` draws the starting point, ``model.apply`` gives logits).
      queries: oracle rows ``m``; default ``ceil(queries_per_unknown * P)``
        for a model with ``P`` parameters.
      queries_per_unknown: see ``queries`` (the paper: 1 for softmax, 5 for
        the MLP of its Table 4).
      steps: Newton steps at most.
      curvature: ``"hessian"`` or ``"gauss_newton"`` (see the module doc).
      solver: ``"dense"`` (factorise the ``[P, P]`` matrix), ``"cg"``
        (matrix-vector products and conjugate gradients) or ``"auto"``
        (dense up to ``dense_max`` parameters).
      dense_max: largest ``P`` solved densely by ``"auto"``.
      cg_maxiter: conjugate-gradient iterations per Newton step.
      restarts: independent starting points, run together (vmapped); the one
        with the lowest final loss wins.
      damping: initial Levenberg-Marquardt damping ``lambda`` (the step
        solves ``(H + lambda I) d = -g``; lambda shrinks after a successful
        step and grows after a failed one).
      tol: stop when the gradient norm falls below this.
      x64: run in float64 (``jax.enable_x64(True)`` around this code path).
      chunk_size: query the oracle this many rows at a time.
    """

    model: Model
    queries: int | None = None
    queries_per_unknown: float = 1.0
    steps: int = 60
    curvature: str = "hessian"
    solver: str = "auto"
    dense_max: int = 2048
    cg_maxiter: int = 50
    restarts: int = 1
    damping: float = 1e-3
    tol: float = 1e-7
    x64: bool = False
    chunk_size: int | None = None

    def __post_init__(self):
        if not isinstance(self.model, Model):
            raise ValueError(f"Expected model to be a jaxpriv.models.Model; got"
                             f" {type(self.model).__name__}.")
        if self.queries is not None:
            _validate.positive("queries", self.queries)
        _validate.positive("queries_per_unknown", self.queries_per_unknown)
        _validate.positive("steps", self.steps)
        _validate.one_of("curvature", self.curvature, CURVATURES)
        _validate.one_of("solver", self.solver, NEWTON_SOLVERS)
        _validate.positive("dense_max", self.dense_max)
        _validate.positive("cg_maxiter", self.cg_maxiter)
        _validate.positive("restarts", self.restarts)
        _validate.positive("damping", self.damping)
        _validate.positive("tol", self.tol, allow_zero=True)
        if self.chunk_size is not None:
            _validate.positive("chunk_size", self.chunk_size)


def _newton_core(pure_fn, config: NewtonConfig, m: int, chunk, solver: str, key, low, high):
    dtype = jnp.float64 if config.x64 else jnp.float32
    low, high = low.astype(dtype), high.astype(dtype)
    d = low.shape[0]
    kq, ko, ki = jax.random.split(key, 3)
    x = low[None, :] + (high - low)[None, :] * jax.random.uniform(kq, (m, d), dtype)
    p = _ask(pure_fn, ko, x, chunk).astype(dtype)
    p = jnp.clip(p, 0.0, 1.0)
    p = p / jnp.maximum(jnp.sum(p, axis=1, keepdims=True), jnp.finfo(dtype).tiny)
    entropy = jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)) / m
    apply = config.model.apply

    def one(k):
        params0 = config.model.init(k, x[:1])
        theta0, unravel = ravel_pytree(jax.tree_util.tree_map(lambda a: a.astype(dtype),
                                                              params0))
        size = theta0.shape[0]
        logits_fn = lambda t: apply(unravel(t), x)

        def loss(t):  # mean KL(p || q_t)
            return entropy - jnp.sum(p * jax.nn.log_softmax(logits_fn(t), axis=-1)) / m

        vg = jax.value_and_grad(loss)

        def curv_vec(t, v):
            if config.curvature == "hessian":
                return jax.jvp(jax.grad(loss), (t,), (v,))[1]
            logits, jv = jax.jvp(logits_fn, (t,), (v,))
            q = jax.nn.softmax(logits, axis=-1)
            hjv = (q * jv - q * jnp.sum(q * jv, axis=-1, keepdims=True)) / m
            return jax.vjp(logits_fn, t)[1](hjv)[0]

        def direction(t, g, lam):
            if solver == "dense":
                if config.curvature == "hessian":
                    h = jax.hessian(loss)(t)
                else:
                    h = jax.vmap(lambda e: curv_vec(t, e))(jnp.eye(size, dtype=dtype))
                h = (h + h.T) / 2 + lam * jnp.eye(size, dtype=dtype)
                c = jax.scipy.linalg.cho_factor(h)
                return jax.scipy.linalg.cho_solve(c, -g)
            # x0 explicit: see the note on jax.scipy.sparse.linalg.cg in _equations.
            return jax.scipy.sparse.linalg.cg(
                lambda v: curv_vec(t, v) + lam * v, -g, x0=jnp.zeros_like(g),
                maxiter=config.cg_maxiter, tol=1e-6)[0]

        def cond(s):
            t, lam, f, g, it = s
            return (it < config.steps) & (jnp.linalg.norm(g) > config.tol) & (lam < 1e12)

        def body(s):
            t, lam, f, g, it = s
            step = direction(t, g, lam)
            f_new, g_new = vg(t + step)
            ok = jnp.isfinite(f_new) & (f_new <= f) & jnp.all(jnp.isfinite(step))
            t = jnp.where(ok, t + step, t)
            f = jnp.where(ok, f_new, f)
            g = jnp.where(ok, g_new, g)
            lam = jnp.where(ok, jnp.maximum(lam / 3, 1e-10), lam * 8)
            return t, lam, f, g, it + 1

        f0, g0 = vg(theta0)
        t, _, f, _, it = jax.lax.while_loop(
            cond, body, (theta0, jnp.asarray(config.damping, dtype), f0, g0, jnp.int32(0)))
        return t, f, it

    keys = jax.random.split(ki, config.restarts)
    thetas, losses, iters = jax.vmap(one)(keys)
    best = jnp.argmin(jnp.where(jnp.isfinite(losses), losses, jnp.inf))
    _, unravel = ravel_pytree(config.model.init(keys[0], x[:1]))
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), unravel(thetas[best]))
    return params, losses[best], iters[best]


def extract_newton(key: jax.Array, oracle: Oracle, domain: Domain, config: NewtonConfig
                   ) -> ExtractionResult:
    """Steals a model of a known architecture from its confidences with
    Newton's method (Tramèr et al., USENIX Security 2016, §4.1.2-§4.1.3).

    Works with rounded or noisy confidences (the loss is minimised rather
    than solved exactly), and for non-linear models (one-hidden-layer MLPs).

    Args:
      key: PRNG key (queries, oracle noise, starting points).
      oracle: returns probabilities ``[n, c]`` (possibly rounded / noisy).
      domain: the query box ``Domain(low[d], high[d])``.
      config: :class:`NewtonConfig` (architecture, queries, curvature).

    Returns:
      :class:`ExtractionResult` with the stolen parameters for
      ``config.model.apply``, the queries, the seconds, ``residual`` = the
      final mean KL divergence between oracle and stolen outputs and
      ``usable`` = the Newton steps taken by the winning restart.

    Example:
      >>> cand = make_model("mlp", num_features=446, num_classes=30, hidden=(5,),
      ...                   activation="tanh")
      >>> res = extract_newton(key, oracle, unit_domain(446),
      ...                      NewtonConfig(model=cand, queries_per_unknown=5))
    """
    oracle = check_oracle(oracle, "extract_newton")
    oracle.require(PROBABILITIES, TOPK, attack="extract_newton")
    domain = check_domain(domain, config.model.num_features)
    size = count_params(config.model.init(jax.random.key(0),
                                          jnp.zeros((1, domain.num_features))))
    m = int(config.queries) if config.queries is not None else \
        int(math.ceil(config.queries_per_unknown * size))
    solver = config.solver
    if solver == "auto":
        solver = "dense" if size <= config.dense_max else "cg"
    oracle.reserve(m)
    fn = cached_jit(_newton_core, oracle.pure_fn, config, m, _chunk(m, config.chunk_size),
                    solver)
    with jax.enable_x64(True) if config.x64 else _null():
        (params, loss, steps), seconds = timed(fn, key, domain.low, domain.high)
    oracle.charge(m)
    return ExtractionResult(params, m, seconds, loss, steps)


def unknowns(model: Model) -> int:
    """Number of parameters of a candidate architecture."""
    return count_params(model.init(jax.random.key(0), jnp.zeros((1, model.num_features))))


__all__ = ["CURVATURES", "NewtonConfig", "extract_newton", "unknowns"]
