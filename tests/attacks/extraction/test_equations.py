"""Equation-solving extraction of logistic models (Tramèr et al. 2016, §4.1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from jaxpriv import models, oracles
from jaxpriv.attacks import extraction as ex

from conftest import linear_logits, synthetic_linear


@pytest.fixture(scope="module")
def binary_target(digits):
    sel = digits.y < 2
    clf = LogisticRegression(max_iter=2000).fit(digits.x[sel], digits.y[sel])
    apply_fn, params = models.from_sklearn_logistic(clf)
    return apply_fn, params, digits.x[sel]


def test_binary_lr_digits_exact_from_65_queries_and_no_retrace(binary_target):
    apply_fn, params, x_test = binary_target
    traces = []

    def predict(x):
        traces.append(1)
        return apply_fn(params, x)

    oracle = oracles.Oracle(predict)
    res = ex.extract_binary_lr(jax.random.key(0), oracle, ex.unit_domain(64))
    again = ex.extract_binary_lr(jax.random.key(0), oracle, ex.unit_domain(64))
    other = ex.extract_binary_lr(jax.random.key(1), oracle, ex.unit_domain(64))
    assert len(traces) == 1  # new key, same shapes: no recompilation
    assert res.queries == 65 and oracle.queries == 3 * 65
    assert res.params["w"].dtype == jnp.float64
    np.testing.assert_array_equal(np.asarray(res.params["w"]), np.asarray(again.params["w"]))
    assert ex.max_param_error(res.params, params) < 1e-6
    assert ex.max_param_error(other.params, params) < 1e-6
    with jax.enable_x64(True):
        stolen = lambda x: ex.linear_apply(res.params, jnp.asarray(x, jnp.float64))
        rep = ex.extraction_report(jax.random.key(1), lambda x: apply_fn(params, x), stolen,
                                   ex.unit_domain(64), x_test=x_test, queries=res.queries,
                                   num_uniform=5000)
    assert rep["1-R_test"] == 1.0 and rep["1-R_unif"] == 1.0
    assert rep["price_usd"] == pytest.approx(65 * ex.PRICE_PER_QUERY)


def test_cg_in_float32_softmax_over_digit_pixels(digits):
    # A 10-class softmax model over the 64 digit pixels (650 unknowns), by
    # matrix-free CG on the log-ratio normal equations in float32 (the dense
    # float64 path is the binary test's).
    params = synthetic_linear(jax.random.key(3), 64, 10, scale=4.0)
    oracle = oracles.Oracle.from_model(linear_logits, params)
    cg = ex.extract_lr(jax.random.key(0), oracle, ex.unit_domain(64),
                       ex.LRConfig(num_classes=10, queries=260, solver="cg", x64=False,
                                   chunk_size=64))
    assert cg.queries == 260 and oracle.queries == 260
    ref = ex.center_classes(params)
    assert ex.max_param_error(cg.params, ref) < 1e-3
    assert float(cg.residual) < 1e-4 and int(cg.usable) == 260
    for res in (cg,):
        p32 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), res.params)
        rep = ex.extraction_report(jax.random.key(3), lambda x: linear_logits(params, x),
                                   lambda x: ex.linear_apply(p32, x), ex.unit_domain(64),
                                   x_test=digits.x, queries=res.queries, num_uniform=5000)
        assert rep["1-R_test"] >= 0.999 and rep["1-R_unif"] >= 0.999


def test_refuses_lossy_or_label_oracles_and_bad_input():
    params = synthetic_linear(jax.random.key(0), 5, 3)
    rounded = oracles.Oracle.from_model(linear_logits, params,
                                        defenses=[oracles.round_outputs(2)])
    with pytest.raises(oracles.AccessError, match="exact confidences"):
        ex.extract_lr(jax.random.key(0), rounded, ex.unit_domain(5),
                      ex.LRConfig(num_classes=3))
    labels = oracles.Oracle.from_model(linear_logits, params,
                                       defenses=[oracles.label_only()])
    with pytest.raises(oracles.AccessError, match="probabilities"):
        ex.extract_lr(jax.random.key(0), labels, ex.unit_domain(5), ex.LRConfig(num_classes=3))
    exact = oracles.Oracle.from_model(linear_logits, params)
    with pytest.raises(ValueError, match="queries=3 >= d \\+ 1 = 6"):
        ex.extract_lr(jax.random.key(0), exact, ex.unit_domain(5),
                      ex.LRConfig(num_classes=3, queries=3))
    with pytest.raises(ValueError, match="Domain"):
        ex.extract_lr(jax.random.key(0), exact, np.zeros(5), ex.LRConfig(num_classes=3))
    with pytest.raises(ValueError, match="Unknown solver='lu'.*'auto', 'dense', 'cg'"):
        ex.LRConfig(num_classes=3, solver="lu")
    with pytest.raises(ValueError, match="num_classes=2 for binary"):
        ex.extract_binary_lr(jax.random.key(0), exact, ex.unit_domain(5),
                             ex.LRConfig(num_classes=3))
    with pytest.raises(ValueError, match="Oracle"):
        ex.extract_lr(jax.random.key(0), (linear_logits, params), ex.unit_domain(5),
                      ex.LRConfig(num_classes=3))
    with pytest.raises(ValueError, match="low <= high"):
        ex.box_domain([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(oracles.QueryBudgetExceeded):
        ex.extract_lr(jax.random.key(0), oracles.Oracle.from_model(linear_logits, params,
                                                                   budget=5),
                      ex.unit_domain(5), ex.LRConfig(num_classes=3))
