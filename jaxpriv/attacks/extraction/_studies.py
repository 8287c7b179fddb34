"""Paper studies built from the attacks: the rounding countermeasure
(Tramèr et al. 2016, §8.1) and extract-then-invert on the AT&T faces (§4.1.2
and Fredrikson et al., CCS 2015)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from jaxpriv.attacks.extraction._common import Domain, ExtractionResult, check_domain
from jaxpriv.attacks.extraction._equations import LRConfig, extract_lr, linear_apply
from jaxpriv.attacks.extraction._newton import NewtonConfig, extract_newton
from jaxpriv.attacks.extraction._report import extraction_report
from jaxpriv.models import Model
from jaxpriv.oracles import Oracle, round_outputs

# The AT&T-faces softmax system (Tramèr et al. 2016, Table 4 and §4.1.2):
# 40 classes x (10,304 pixels + 1) unknowns, 41,216 = 4 x 10,304 queries, solved
# matrix-free in float32 (the design matrix alone is 1.7 GB).
FACES_QUERIES = 41_216


def faces_config(num_classes: int = 40, queries: int = FACES_QUERIES) -> LRConfig:
    """The :class:`LRConfig` for the AT&T-faces softmax model: conjugate
    gradients on the centred log-ratio system, float32, queried in chunks."""
    return LRConfig(num_classes=num_classes, queries=queries, solver="cg", x64=False,
                    chunk_size=4096, cg_tol=1e-5, cg_maxiter=40)


def rounding_sweep(key: jax.Array, apply_fn: Callable, params: Any, candidate: Model,
                   domain: Domain, *, x_test: Any,
                   decimals: Sequence[int | None] = (None, 1, 2, 3, 4, 5),
                   queries_per_unknown: Sequence[float] = (1.0,),
                   newton: NewtonConfig | None = None, num_uniform: int = 10_000,
                   ) -> list[dict[str, Any]]:
    """Fidelity and queries of Newton extraction as the API rounds its
    confidences (Tramèr et al. 2016, §8.1, the rounding countermeasure).

    Args:
      key: PRNG key.
      apply_fn, params: the target (white-box, to build the rounding oracles
        and to score fidelity).
      candidate: the architecture the attacker fits (e.g. the target's).
      domain: query box.
      x_test: ``[n, d]`` test points.
      decimals: rounding levels; ``None`` is the exact oracle (no rounding).
      queries_per_unknown: query budgets tried at each level.
      newton: base :class:`NewtonConfig` (its ``model`` and
        ``queries_per_unknown`` are replaced).
      num_uniform: uniform points for ``1 - R_unif``.

    Returns:
      One dict per (decimals, budget): ``decimals``, ``queries_per_unknown``,
      ``queries``, ``1-R_test``, ``1-R_unif``, ``kl`` (final loss) and
      ``seconds``.
    """
    domain = check_domain(domain, candidate.num_features)
    base = newton or NewtonConfig(model=candidate)
    rows = []
    levels: list[int | None] = [None if d is None else int(d) for d in decimals]
    for i, dec in enumerate(levels):
        defenses = [] if dec is None else [round_outputs(dec)]
        oracle = Oracle.from_model(apply_fn, params, defenses=defenses,
                                   name=f"round({dec})")
        for j, q in enumerate(queries_per_unknown):
            cfg = dataclasses.replace(base, model=candidate, queries_per_unknown=float(q),
                                      queries=None)
            k = jax.random.fold_in(key, 100 * i + j)
            res = extract_newton(k, oracle, domain, cfg)
            rep = extraction_report(jax.random.fold_in(k, 1),
                                    lambda x: apply_fn(params, x),
                                    lambda x, p=res.params: candidate.apply(p, x),
                                    domain, x_test=x_test, queries=res.queries,
                                    num_uniform=num_uniform)
            rows.append({"decimals": dec, "queries_per_unknown": float(q),
                         "queries": res.queries, "1-R_test": rep["1-R_test"],
                         "1-R_unif": rep["1-R_unif"], "kl": float(res.residual),
                         "seconds": res.seconds})
    return rows


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


__all__ = ["FACES_QUERIES", "extract_then_invert", "faces_config", "rounding_sweep"]
