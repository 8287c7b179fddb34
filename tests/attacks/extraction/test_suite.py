"""The extraction family of ``jaxpriv run`` and ``jaxpriv extract`` (small sizes)."""

import json

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import cli, data, models
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
