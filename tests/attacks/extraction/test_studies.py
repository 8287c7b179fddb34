"""Rounding countermeasure, report helpers and extract-then-invert (small sizes)."""

import jax
import numpy as np
import pytest

from jaxpriv import models, oracles
from jaxpriv.attacks import extraction as ex

from conftest import linear_logits, synthetic_linear


def test_rounding_sweep_one_to_five_decimals():
    # Tramèr et al. 2016, §8.1: fidelity of Newton extraction as the API rounds its
    # confidences to 1...5 decimals, at two budgets, beside the exact oracle.
    d, c = 8, 3
    params = synthetic_linear(jax.random.key(1), d, c, scale=4.0)
    cand = models.make_model("softmax", num_features=d, num_classes=c)
    dom = ex.unit_domain(d)
    x_test = np.asarray(ex.sparse_queries(jax.random.key(4), dom, 2000))
    rows = ex.rounding_sweep(jax.random.key(0), linear_logits, params, cand, dom,
                             x_test=x_test, queries_per_unknown=(1, 4), num_uniform=5000)
    assert ex.DECIMALS == (None, 1, 2, 3, 4, 5)
    assert [(r["decimals"], r["queries"]) for r in rows] == [
        (dec, q) for dec in ex.DECIMALS for q in (27, 108)]  # 1 and 4 queries per unknown
    exact = [r for r in rows if r["decimals"] is None]
    assert all(r["1-R_test"] == r["1-R_unif"] == 1.0 for r in exact)
    for q in (1.0, 4.0):
        for metric in ("1-R_test", "1-R_unif"):
            fid = [r[metric] for r in rows if r["queries_per_unknown"] == q
                   and r["decimals"] is not None]
            assert len(fid) == 5
            assert all(a <= b for a, b in zip(fid, fid[1:])), (q, metric, fid)
            assert fid[0] < 0.99 and fid[-1] == 1.0  # one decimal hurts, five do not
    # The budget each level needs for 99%: one decimal never gets there, 3..5 at once.
    needed = {r["decimals"]: r["queries"] for r in ex.queries_needed(rows, target=0.99)}
    assert needed == {None: 27, 1: None, 2: 27, 3: 27, 4: 27, 5: 27}
    # The vmapped levels answer like an Oracle with round_outputs: same fit.
    oracle = oracles.Oracle.from_model(linear_logits, params,
                                       defenses=[oracles.round_outputs(2)])
    res = ex.extract_newton(jax.random.fold_in(jax.random.key(0), 0), oracle, dom,
                            ex.NewtonConfig(model=cand, queries_per_unknown=1.0))
    row = next(r for r in rows if r["decimals"] == 2 and r["queries"] == 27)
    np.testing.assert_allclose(float(res.residual), row["loss"], rtol=1e-3)
    with pytest.raises(ValueError, match="decimals to be integers >= 0"):
        ex.rounding_sweep(jax.random.key(0), linear_logits, params, cand, dom,
                          x_test=x_test, decimals=(1.5,))
    with pytest.raises(ValueError, match="target"):
        ex.queries_needed(rows, target=0.0)


def test_report_helpers_and_bad_input():
    params = synthetic_linear(jax.random.key(0), 3, 2)
    fn = lambda x: linear_logits(params, x)
    rep = ex.extraction_report(jax.random.key(0), fn, fn, ex.unit_domain(3),
                               x_test=np.zeros((4, 3), np.float32),
                               y_test=np.zeros(4, np.int32), queries=10, num_uniform=100)
    assert rep["1-R_test"] == rep["1-R_unif"] == 1.0
    assert rep["stolen_accuracy"] == rep["target_accuracy"]
    with pytest.raises(ValueError, match="x_test"):
        ex.extraction_report(jax.random.key(0), fn, fn, ex.unit_domain(3),
                             x_test=np.zeros((4,)), queries=1)
    with pytest.raises(ValueError, match="same structure"):
        ex.max_param_error({"w": np.zeros(2)}, {"w": np.zeros(3)})
    assert ex.unknowns_lr(64, 10) == 585 and ex.paper_unknowns(64, 10) == 650
    assert ex.paper_unknowns(64, 2) == 65
