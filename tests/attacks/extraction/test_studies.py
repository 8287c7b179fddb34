"""Rounding countermeasure, report helpers and extract-then-invert (small sizes)."""

import jax
import numpy as np
import pytest

from jaxpriv import models
from jaxpriv.attacks import extraction as ex

from conftest import linear_logits, synthetic_linear


def test_rounding_sweep_rows():
    d, c = 8, 3
    params = synthetic_linear(jax.random.key(1), d, c)
    cand = models.make_model("softmax", num_features=d, num_classes=c)
    dom = ex.unit_domain(d)
    x_test = np.asarray(ex.uniform_queries(jax.random.key(4), dom, 300))
    rows = ex.rounding_sweep(jax.random.key(0), linear_logits, params, cand, dom,
                             x_test=x_test, decimals=(2,), num_uniform=3000)
    assert [r["decimals"] for r in rows] == [2]
    assert rows[0]["queries"] == 27  # one query per unknown
    assert rows[0]["1-R_unif"] > 0.98  # rounding to 2 decimals barely helps the defender
    assert rows[0]["1-R_test"] > 0.98


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
