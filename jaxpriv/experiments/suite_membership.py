"""The membership-inference family of ``jaxpriv run``.

Against the undefended and the defended target (its oracle applies the
output defences under study), runs: the Shokri attack with a few shadow
models, the five threshold attacks, LiRA offline (fixed variance) with the
same handful of shadow models, and the two label-only attacks. The attacker's
data is the audit's test split (disjoint from the target's members and the
held-out non-members); the evaluated records are the members and non-members.
One log-log ROC PNG per target is written into ``ctx.out_dir``.

Shadow models copy the undefended training recipe (``ctx.train_config``,
``ctx.hyper``): the attacker does not know the training-time defence.
``ctx.extra["membership_attacks"]`` may name a subset of ``ATTACKS``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxpriv import _validate, metrics
from jaxpriv.attacks import membership as mia
from jaxpriv.oracles import AccessError

ATTACKS = ("shokri", "threshold", "lira", "gap", "perturbation")


def _row(attack: str, target: str, in_s, out_s, queries: int, **extra) -> dict[str, Any]:
    rep = metrics.membership_report(in_s, out_s, threshold=extra.pop("threshold", None))
    return {"attack": attack, "target": target, "auc": rep["auc"],
            "tpr_at_0.1%_fpr": rep["tpr_at_0.1%_fpr"], "tpr_at_1%_fpr": rep["tpr_at_1%_fpr"],
            "advantage": rep["advantage"], "precision": rep["precision"],
            "recall": rep["recall"], "attack_accuracy": rep["accuracy"], "queries": queries,
            **extra}


def run(ctx) -> list[dict[str, Any]]:
    """Membership attacks against both targets; one row per attack and target."""
    ds = ctx.dataset
    members, nonmembers, pool = ctx.split.members, ctx.split.nonmembers, ctx.split.test
    if pool.size < 4 or members.size == 0 or nonmembers.size == 0:
        raise ValueError("membership needs members, non-members and test rows (the attacker's "
                         f"pool); got {members.size}, {nonmembers.size}, {pool.size}.")
    attacks = tuple(ctx.extra.get("membership_attacks", ATTACKS))
    for a in attacks:
        _validate.one_of("membership attack", a, ATTACKS)
    num_shadows = 2 if ctx.smoke else 6
    xp, yp = ds.x[pool], ds.y[pool]
    xq = np.concatenate([ds.x[members], ds.x[nonmembers]])
    yq = np.concatenate([ds.y[members], ds.y[nonmembers]])
    n_in = members.size
    shadow_cfg = mia.ShadowConfig(
        model=ctx.model, num_shadows=num_shadows, sampling="overlapping",
        n_train=min(members.size, pool.size // 2), train=ctx.train_config, hyper=ctx.hyper)
    cfg = mia.ShokriConfig(shadow=shadow_cfg, attack_epochs=5 if ctx.smoke else 20)
    k_shadow, k_attack, k_pert = jax.random.split(ctx.key, 3)
    if "shokri" in attacks or "lira" in attacks:
        shadows = mia.train_shadows(k_shadow, xp, yp, shadow_cfg)
        # The pool's shadows never trained on the evaluated records: all "out"
        # models for them, which is what LiRA offline needs.
        out_phi = mia.shadow_phi(ctx.model.apply, shadows.params, xq, yq)
        no_in = np.zeros(out_phi.shape, bool)
    binary = bool(np.all((ds.x == 0) | (ds.x == 1)))
    pert = mia.PerturbationConfig(num_perturbations=8 if ctx.smoke else 32,
                                  noise="bitflip" if binary else "gaussian",
                                  sigma=0.1 * float(np.std(ds.x)) or 0.1, flip_prob=0.05)
    rows: list[dict[str, Any]] = []
    for target, defended in (("undefended", False), ("defended", True)):
        curves = {}
        oracle = ctx.oracle(defended=defended)
        if "shokri" in attacks:
            res = mia.shokri_attack(k_attack, oracle, mia.ShokriData(xp, yp, xq, yq), cfg,
                                    shadows=shadows)
            s = np.asarray(res.scores)
            rows.append(_row("shokri", target, s[:n_in], s[n_in:], res.queries, threshold=0.5,
                             num_shadows=num_shadows))
            curves["shokri"] = (s[:n_in], s[n_in:])
        try:
            if "threshold" in attacks:
                th = mia.threshold_attack(k_attack, oracle, (xq, yq))
                for name, sc in zip(mia.SCORES, np.asarray(th.scores)):
                    rows.append(_row(f"threshold_{name}", target, sc[:n_in], sc[n_in:],
                                     th.queries))
                curves["loss threshold"] = (np.asarray(th.scores[0])[:n_in],
                                            np.asarray(th.scores[0])[n_in:])
            if "lira" in attacks:
                lira = mia.lira_attack(k_attack, oracle, (xq, yq, out_phi, no_in),
                                       mia.LiraConfig(online=False, fixed_variance=True))
                s = np.asarray(lira.scores)
                rows.append(_row("lira_offline", target, s[:n_in], s[n_in:], lira.queries,
                                 num_shadows=num_shadows))
                curves["LiRA offline"] = (s[:n_in], s[n_in:])
        except AccessError as e:
            rows.append({"attack": "threshold/lira", "target": target, "skipped": str(e)})
        if "gap" in attacks:
            gap = mia.gap_attack(k_attack, oracle, (xq, yq))
            s = np.asarray(gap.scores)
            rows.append(_row("label_only_gap", target, s[:n_in], s[n_in:], gap.queries))
            curves["label-only gap"] = (s[:n_in], s[n_in:])
        if "perturbation" in attacks:
            pa = mia.perturbation_attack(k_pert, oracle, (xq, yq), pert)
            s = np.asarray(pa.scores)
            rows.append(_row("label_only_perturbation", target, s[:n_in], s[n_in:],
                             pa.queries))
            curves["label-only perturbation"] = (s[:n_in], s[n_in:])
        if curves:
            path = mia.plot_roc(curves, ctx.out_dir / f"membership_roc_{target}.png",
                                title=f"membership inference ({target} target, {ds.name})")
            rows[-1]["images"] = [{"title": f"membership ROC ({target})", "path": str(path)}]
    return rows
