"""The membership family of ``jaxpriv run`` and the ``jaxpriv infer`` command."""

import json

import jax
import numpy as np

from jaxpriv import data, training
from jaxpriv.experiments import AuditContext, suite_membership
from jaxpriv.experiments._suite import FAMILIES
from jaxpriv.oracles import parse_defense


def test_family_is_registered():
    assert FAMILIES["membership"] == "jaxpriv.experiments.suite_membership"


def test_run_rows_and_roc_pictures(toy, tmp_path):
    idx = np.arange(900)
    ds = data.Dataset(name="toy", x=toy.x[idx], y=toy.y[idx], num_classes=4)
    split = data.Split(members=toy.members, nonmembers=toy.nonmembers, test=np.arange(300, 900))
    dparams, _ = training.fit(jax.random.key(1), toy.model, toy.x[toy.members],
                              toy.y[toy.members], toy.tc,
                              training.Hyper(learning_rate=5e-3, l2=1e-2))
    ctx = AuditContext(key=jax.random.key(3), dataset=ds, split=split, model=toy.model,
                       params=toy.params, defended_params=dparams,
                       defenses=(parse_defense("label_only"),), train_config=toy.tc,
                       hyper=toy.hyper, out_dir=tmp_path, smoke=True, progress=False)
    rows = suite_membership.run(ctx)
    by = {(r["target"], r["attack"]): r for r in rows}
    assert by[("undefended", "shokri")]["auc"] > 0.6
    assert by[("undefended", "threshold_loss")]["auc"] > 0.65
    assert by[("undefended", "lira_offline")]["auc"] > 0.6
    # The label-only oracle stops the confidence attacks (they say why) but not the gap attack.
    assert "needs oracle outputs" in by[("defended", "threshold/lira")]["skipped"]
    assert by[("defended", "label_only_gap")]["queries"] == 300
    for target in ("undefended", "defended"):
        assert (tmp_path / f"membership_roc_{target}.png").exists()
    json.dumps(rows)  # rows are plain JSON values


def test_infer_cli_smoke(tmp_path):
    from jaxpriv import cli

    out = tmp_path / "infer"
    assert cli.main(["infer", "--smoke", "--out", str(out), "--defense", "top_k:1",
                     "--attacks", "threshold,gap"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert {r["attack"] for r in res["rows"]} == {"threshold_loss", "threshold_confidence",
                                                  "threshold_entropy", "threshold_modified_entropy",
                                                  "threshold_normalized_entropy", "label_only_gap"}
    assert res["defended"]["output"] == ["top_k(1)"]
    assert "loss penalty" in res["l2_convention"]
    assert cli.main(["infer", "--dataset", "nope"]) == 2
    assert cli.main(["infer", "--smoke", "--out", str(out), "--attacks", "magic"]) == 2
