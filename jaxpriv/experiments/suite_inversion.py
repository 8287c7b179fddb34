"""The inversion family of ``jaxpriv run``: MI-Face against the audited target.

Rows (one per attack x target):

* ``mi_face_whitebox`` on the undefended and the defended (L2-trained) target:
  Algorithm 1 of Fredrikson, Jha, Ristenpart (CCS 2015) for every class in one
  compiled call.
* ``mi_face_blackbox`` through the undefended oracle and the defended oracle
  (its output defences, e.g. rounding: the paper's countermeasure), with
  gradients estimated from queries.

Each reconstruction is judged by an independent classifier trained on the
held-out test rows (never the target's training rows), with and without
per-image standardisation, and for image data by MSE and SSIM to the class's
images. A PNG grid of the reconstructions is written to ``out_dir``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv.attacks.inversion import MIFaceConfig, mi_face, mi_face_blackbox
from jaxpriv.attacks.inversion._faces import (evaluate_faces, face_grid_png, fit_identifier)
from jaxpriv.experiments._context import AuditContext


def _row(attack: str, target: str, res, evaluation: dict[str, Any], extra=None) -> dict:
    row = {"family": "inversion", "attack": attack, "target": target,
           "labels": int(res.x.shape[0]),
           "mean_confidence": float(np.mean(np.exp(np.asarray(res.log_prob)))),
           "mean_iterations": float(np.mean(np.asarray(res.iterations))),
           "queries": int(np.sum(np.asarray(res.queries)))}
    row.update({k: v for k, v in evaluation.items() if k != "per_label"})
    row.update(extra or {})
    return row


def run(ctx: AuditContext) -> list[dict]:
    ds = ctx.dataset
    if ds.num_classes < 2:
        return []
    d = ds.num_features
    labels = jnp.arange(ds.num_classes)
    held = ctx.test if len(ctx.split.test) >= ds.num_classes else ctx.nonmembers
    k_id, k_bb = jax.random.split(ctx.key)
    identifiers = {
        "standardized": fit_identifier(k_id, held.x, held.y, ds.num_classes,
                                       epochs=10 if ctx.smoke else 50),
        "raw": fit_identifier(k_id, held.x, held.y, ds.num_classes, standardize=False,
                              epochs=10 if ctx.smoke else 50),
    }
    image_shape = ds.image_shape

    def judge(res):
        if image_shape is None:
            out = {}
            for name, ident in identifiers.items():
                out[f"identified_{name}"] = float(np.mean(ident.predict(res.x)
                                                          == np.asarray(labels)))
            return out
        return evaluate_faces(res.x, np.asarray(labels), identifiers, held.x, held.y,
                              image_shape)

    lo, hi = float(np.min(ds.x)), float(np.max(ds.x))
    from jaxpriv.attacks.inversion import clip_process

    process = clip_process(lo, hi) if hi > lo else "none"
    wb_cfg = MIFaceConfig(num_features=d, alpha=200 if ctx.smoke else 1000, beta=100,
                          gamma=0.99, learning_rate=1.0, process=process)
    bb_cfg = MIFaceConfig(num_features=d, alpha=10 if ctx.smoke else 100, beta=20,
                          gamma=0.99, learning_rate=1.0, process=process,
                          num_directions=8 if ctx.smoke else 32, sigma=0.05)
    rows, recons = [], {}
    for target, params in (("undefended", ctx.params), ("defended", ctx.defended_params)):
        if params is None:
            continue
        res = mi_face(ctx.key, (ctx.model.apply, params), labels, wb_cfg)
        recons[f"whitebox {target}"] = np.asarray(res.x)
        rows.append(_row("mi_face_whitebox", target, res, judge(res),
                         {"alpha": wb_cfg.alpha, "learning_rate": wb_cfg.learning_rate,
                          "defense": ctx.defense_name if target == "defended" else "none"}))
    for target, defended in (("undefended", False), ("defended", True)):
        oracle = ctx.oracle(defended=defended)
        try:
            res = mi_face_blackbox(k_bb, oracle, labels, bb_cfg)
        except ValueError as e:  # a label-only defence: the attack cannot run
            rows.append({"family": "inversion", "attack": "mi_face_blackbox",
                         "target": target, "oracle": oracle.describe(), "error": str(e)})
            continue
        recons[f"blackbox {target}"] = np.asarray(res.x)
        rows.append(_row("mi_face_blackbox", target, res, judge(res),
                         {"oracle": oracle.describe(), "alpha": bb_cfg.alpha,
                          "num_directions": bb_cfg.num_directions,
                          "defense": ctx.defense_name if defended else "none"}))
    if image_shape is not None and recons:
        persons = np.stack([held.x[np.flatnonzero(held.y == c)[0]]
                            for c in range(ds.num_classes)])
        path = face_grid_png(ctx.out_dir / "inversion_mi_face.png", persons, recons,
                             image_shape, per_row=min(5, ds.num_classes))
        rows[0]["images"] = [{"title": "MI-Face reconstructions (contrast-stretched) next to "
                                       "a held-out image of each class", "path": str(path)}]
    return rows
