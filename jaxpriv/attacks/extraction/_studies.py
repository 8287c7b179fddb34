"""Paper studies built from the attacks: the rounding countermeasure
(Tramèr et al. 2016, §8.1) and extract-then-invert on the AT&T faces (§4.1.2
and Fredrikson et al., CCS 2015)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from jaxpriv import _validate
from jaxpriv.attacks.extraction._common import (Domain, ExtractionResult, cached_jit,
                                                check_domain, timed)
from jaxpriv.attacks.extraction._equations import (LRConfig, _chunk, _null, extract_lr,
                                                   linear_apply)
from jaxpriv.attacks.extraction._newton import NewtonConfig, _newton_core, extract_newton, plan
from jaxpriv.attacks.extraction._report import extraction_report
from jaxpriv.models import Model
from jaxpriv.oracles import Oracle

# The AT&T-faces softmax system (Tramèr et al. 2016, Table 4 and §4.1.2):
# 40 classes x (10,304 pixels + 1) unknowns, 41,216 = 4 x 10,304 queries, solved
# matrix-free in float32 (the design matrix alone is 1.7 GB).
FACES_QUERIES = 41_216


def faces_config(num_classes: int = 40, queries: int = FACES_QUERIES) -> LRConfig:
    """The :class:`LRConfig` for the AT&T-faces softmax model: conjugate
    gradients on the centred log-ratio system, float32, queried in chunks."""
    return LRConfig(num_classes=num_classes, queries=queries, solver="cg", x64=False,
                    chunk_size=4096, cg_tol=1e-5, cg_maxiter=40)


DECIMALS = (None, 1, 2, 3, 4, 5)


def _rounded_core(apply_fn, config: NewtonConfig, m: int, chunk, solver: str, loss: str,
                  key, params, scales, low, high):
    """Newton against the oracles ``round(softmax(apply_fn(params, x)), log10 scale)``,
    one per entry of ``scales[k]``, vmapped: one compiled program for every level."""

    def one(scale):
        def pure_fn(k, x):  # oracles.round_outputs, with the scale an array
            p = jax.nn.softmax(apply_fn(params, x), axis=-1)
            return jnp.round(p * scale) / scale

        return _newton_core(pure_fn, config, m, chunk, solver, loss, key, low, high)

    return jax.vmap(one)(scales)


def rounding_sweep(key: jax.Array, apply_fn: Callable, params: Any, candidate: Model,
                   domain: Domain, *, x_test: Any,
                   decimals: Sequence[int | None] = DECIMALS,
                   queries_per_unknown: Sequence[float] = (1.0,),
                   newton: NewtonConfig | None = None, num_uniform: int = 10_000,
                   ) -> list[dict[str, Any]]:
    """Fidelity and queries of Newton extraction as the API rounds its
    confidences to 1...5 decimals (Tramèr et al. 2016, §8.1, the rounding
    countermeasure). :func:`queries_needed` reads off the smallest budget
    that reaches a fidelity at each level.

    All levels of one budget share their queries and starting points (common
    random numbers: the rows differ by the rounding alone) and run as one
    compiled program vmapped over the rounding scale ``10**decimals``; the
    exact oracle (``None``) is one :func:`extract_newton` call per budget.

    Args:
      key: PRNG key.
      apply_fn, params: the target ``apply_fn(params, x) -> logits``
        (white-box, to build the rounding oracles and to score fidelity).
      candidate: the architecture the attacker fits (e.g. the target's).
      domain: query box.
      x_test: ``[n, d]`` test points.
      decimals: rounding levels (integers >= 0); ``None`` is the exact oracle.
      queries_per_unknown: query budgets tried at each level.
      newton: base :class:`NewtonConfig` (its ``model`` and
        ``queries_per_unknown`` are replaced).
      num_uniform: uniform points for ``1 - R_unif``.

    Returns:
      One dict per (decimals, budget), levels in the order given, budgets
      inside: ``decimals``, ``queries_per_unknown``, ``queries``,
      ``1-R_test``, ``1-R_unif``, ``loss`` (the final loss: log-ratio least
      squares for the exact oracle, KL behind rounding; see
      :class:`NewtonConfig`), ``newton_steps`` and ``seconds`` (wall time of
      the compiled call, compilation included; the rounded levels of a
      budget share one call).

    Example:
      >>> rows = rounding_sweep(key, model.apply, params, model, unit_domain(64),
      ...                       x_test=x, queries_per_unknown=(1, 4))
      >>> queries_needed(rows, target=0.99)
    """
    domain = check_domain(domain, candidate.num_features)
    if not decimals or not queries_per_unknown:
        raise ValueError(f"Expected at least one level and one budget; got"
                         f" decimals={tuple(decimals)} and"
                         f" queries_per_unknown={tuple(queries_per_unknown)}.")
    levels: list[int | None] = []
    for d in decimals:
        if d is not None and (int(d) != d or d < 0):
            raise ValueError(f"Expected decimals to be integers >= 0 or None; got {d!r}.")
        levels.append(None if d is None else int(d))
    for q in queries_per_unknown:
        _validate.positive("queries_per_unknown", q)
    base = newton or NewtonConfig(model=candidate)
    rounded = [d for d in levels if d is not None]
    target_fn = lambda x: apply_fn(params, x)
    found: dict[tuple[int | None, int], dict[str, Any]] = {}
    for j, q in enumerate(queries_per_unknown):
        cfg = dataclasses.replace(base, model=candidate, queries_per_unknown=float(q),
                                  queries=None)
        m, solver = plan(cfg)
        k = jax.random.fold_in(key, j)
        fits = []  # (decimals, params, loss, steps, seconds)
        if None in levels:
            res = extract_newton(k, Oracle.from_model(apply_fn, params), domain, cfg)
            fits.append((None, res.params, res.residual, res.usable, res.seconds))
        if rounded:
            loss = "kl" if cfg.loss == "auto" else cfg.loss
            fn = cached_jit(_rounded_core, apply_fn, cfg, m, _chunk(m, cfg.chunk_size),
                            solver, loss)
            scales = jnp.asarray([10.0 ** d for d in rounded], jnp.float32)
            with jax.enable_x64(True) if cfg.x64 else _null():
                (stolen, losses, steps), seconds = timed(fn, k, params, scales, domain.low,
                                                         domain.high)
            for i, d in enumerate(rounded):
                fits.append((d, jax.tree_util.tree_map(lambda a, i=i: a[i], stolen),
                             losses[i], steps[i], seconds))
        for d, stolen, loss_value, n_steps, seconds in fits:
            rep = extraction_report(jax.random.fold_in(k, 1), target_fn,
                                    lambda x, p=stolen: candidate.apply(p, x), domain,
                                    x_test=x_test, queries=m, num_uniform=num_uniform)
            found[(d, j)] = {"decimals": d, "queries_per_unknown": float(q), "queries": m,
                             "1-R_test": rep["1-R_test"], "1-R_unif": rep["1-R_unif"],
                             "loss": float(loss_value), "newton_steps": int(n_steps),
                             "seconds": seconds}
    return [found[(d, j)] for d in levels for j in range(len(queries_per_unknown))]


def queries_needed(rows: Sequence[dict[str, Any]], target: float = 0.99
                   ) -> list[dict[str, Any]]:
    """The smallest budget of a :func:`rounding_sweep` that reaches ``target``
    on both ``1 - R_test`` and ``1 - R_unif``, per rounding level.

    Args:
      rows: the sweep's rows.
      target: fidelity to reach, in ``(0, 1]``.

    Returns:
      One dict per level, in the rows' order: ``decimals``,
      ``queries_per_unknown`` and ``queries`` (both ``None`` when no budget
      of the sweep reached ``target``) and ``fidelity`` (the smaller of the
      two agreements at that budget, or the best reached).
    """
    if not 0.0 < float(target) <= 1.0:
        raise ValueError(f"Expected 0 < target <= 1; got target={target!r}.")
    out: dict[Any, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["queries"]):
        fid = min(r["1-R_test"], r["1-R_unif"])
        cur = out.setdefault(r["decimals"], {"decimals": r["decimals"],
                                             "queries_per_unknown": None, "queries": None,
                                             "fidelity": fid})
        if cur["queries"] is None:
            if fid >= target:
                cur.update(queries_per_unknown=r["queries_per_unknown"],
                           queries=r["queries"], fidelity=fid)
            else:
                cur["fidelity"] = max(cur["fidelity"], fid)
    order = list(dict.fromkeys(r["decimals"] for r in rows))
    return [out[d] for d in order]


def extract_then_invert(key: jax.Array, oracle: Oracle, domain: Domain, config: LRConfig,
                        labels: Any, mi_config: Any) -> tuple[ExtractionResult, Any]:
    """Steals a softmax model by equation solving, then runs white-box MI-Face
    (Fredrikson et al., CCS 2015, Algorithm 1) on the stolen copy: the
    attacker gets white-box inversion from black-box access (Tramèr et al.
    2016, §4.1.2: the 412,160 unknowns of the AT&T-faces model, then MI-Face).

    Args:
      key: PRNG key.
      oracle: probability oracle of the target.
      domain: query box (``[0, 1]^10304`` for the faces).
      config: :class:`LRConfig` (e.g. :func:`faces_config`).
      labels: int ``[num_labels]`` classes to invert.
      mi_config: :class:`jaxpriv.attacks.inversion.MIFaceConfig`.

    Returns:
      ``(extraction result, MI-Face result on the stolen model)``.
    """
    from jaxpriv.attacks.inversion import mi_face

    k1, k2 = jax.random.split(key)
    res = extract_lr(k1, oracle, domain, config)
    stolen = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), res.params)
    inv = mi_face(k2, (linear_apply, stolen), labels, mi_config)
    return res, inv


__all__ = ["DECIMALS", "FACES_QUERIES", "extract_then_invert", "faces_config", "queries_needed",
           "rounding_sweep"]
