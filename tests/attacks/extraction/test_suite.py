"""The extraction family of ``jaxpriv run`` and ``jaxpriv extract`` (small sizes)."""

import json

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import cli, data, models, oracles, training
from jaxpriv.experiments import AuditContext, FAMILIES
from jaxpriv.experiments import suite_extraction


def test_run_rows_for_a_softmax_target(digits, tmp_path):
    # Without output defences both oracles are exact: equation solving on both.
    # (A lossy oracle switches run() to Newton, tested in test_newton/test_studies.)
    assert FAMILIES["extraction"] == "jaxpriv.experiments.suite_extraction"
    ds = digits.subset(np.arange(300))
    split = data.split(jax.random.key(0), len(ds), n_members=150, n_nonmembers=50, n_test=100)
    model = models.make_model("softmax", num_features=64, num_classes=10)
    params = jax.tree_util.tree_map(lambda a: 20.0 * a,
                                    model.init(jax.random.key(1), jnp.zeros((1, 64))))
    ctx = AuditContext(key=jax.random.key(2), dataset=ds, split=split, model=model,
                       params=params, defended_params=params,
                       defenses=(), train_config=None, hyper=None,
                       out_dir=tmp_path, smoke=True, progress=False)
    rows = suite_extraction.run(ctx)
    assert [(r["attack"], r["target"]) for r in rows] == [("equation_solving", "undefended"),
                                                          ("equation_solving", "defended")]
    for r in rows:
        assert r["1-R_test"] == 1.0 and r["1-R_unif"] == 1.0
        assert r["queries"] == 65 and r["oracle"] == "logits"
    assert all(r["family"] == "extraction" and r["price_usd"] > 0 for r in rows)
    json.dumps(rows)


def test_cli_extract(tmp_path, capsys):
    out = tmp_path / "extract.json"
    assert cli.main(["extract", "binary_lr_digits", "--smoke", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["binary_lr_digits"]
    assert res["queries"] == 65 and res["1-R_unif"] == 1.0
    assert "binary_lr_digits" in capsys.readouterr().out
    assert cli.main(["extract", "stealing"]) == 2
    assert "Unknown case='stealing'" in capsys.readouterr().err


def _mlp_context(digits, tmp_path, defenses, smoke):
    ds = digits.subset(np.arange(600))
    split = data.split(jax.random.key(0), len(ds), n_members=300, n_nonmembers=100, n_test=200)
    model = models.make_model("mlp", num_features=64, num_classes=10, hidden=(8,),
                              activation="relu")
    params, _ = training.fit(jax.random.key(1), model, ds.x[split.members], ds.y[split.members],
                             training.TrainConfig(epochs=20, batch_size=32),
                             training.Hyper(learning_rate=1e-2))
    return AuditContext(key=jax.random.key(2), dataset=ds, split=split, model=model,
                        params=params, defended_params=params, defenses=defenses,
                        train_config=None, hyper=None, out_dir=tmp_path, smoke=smoke,
                        progress=False)


def test_run_rows_for_a_relu_mlp_target(digits, tmp_path):
    # The default audit target is a relu MLP: Newton from 2 queries per unknown on
    # sparse queries, log-ratio loss through the exact oracle, KL behind rounding.
    ctx = _mlp_context(digits, tmp_path, (oracles.round_outputs(1),), smoke=False)
    rows = suite_extraction.run(ctx)
    assert [(r["attack"], r["newton_loss"], r["queries_from"]) for r in rows] == [
        ("newton", "logratio", "sparse"), ("newton", "kl", "sparse")]
    exact, rounded = rows
    assert exact["unknowns"] == 64 * 8 + 8 + 8 * 10 + 10
    assert exact["queries"] == 2 * exact["unknowns"]
    assert exact["1-R_test"] >= 0.99 and exact["1-R_unif"] >= 0.99
    assert rounded["oracle"] == "logits -> round(1)"
    assert rounded["1-R_test"] >= 0.9 and rounded["1-R_unif"] >= 0.9
    json.dumps(rows)


def test_run_retrains_behind_a_label_only_oracle(digits, tmp_path):
    ctx = _mlp_context(digits, tmp_path, (oracles.label_only(),), smoke=True)
    rows = suite_extraction.run(ctx)
    assert [r["attack"] for r in rows] == ["newton", "retrain_adaptive"]
    assert rows[1]["queries"] == rows[1]["unknowns"] and rows[1]["oracle"].endswith("label_only")
    assert rows[1]["1-R_test"] > 0.5
