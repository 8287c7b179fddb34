"""Newton extraction: softmax under rounding, one-hidden-layer MLP (Tramèr et al. 2016, §4.1)."""

import jax
import numpy as np
import pytest

from jaxpriv import oracles
from jaxpriv.attacks import extraction as ex



def _agree(apply_a, apply_b, d, n=5000):
    u = np.random.default_rng(0).uniform(size=(n, d)).astype(np.float32)
    return float(np.mean(np.asarray(apply_a(u)).argmax(1) == np.asarray(apply_b(u)).argmax(1)))


def test_mlp_five_queries_per_unknown_and_no_retrace(tiny_mlp):
    model, params = tiny_mlp
    traces = []

    def predict(x):
        traces.append(1)
        return model.apply(params, x)

    oracle = oracles.Oracle(predict)
    cfg = ex.NewtonConfig(model=model, queries_per_unknown=5, curvature="gauss_newton",
                          solver="cg", steps=60, restarts=1)
    a = ex.extract_newton(jax.random.key(0), oracle, ex.unit_domain(6), cfg)
    b = ex.extract_newton(jax.random.key(0), oracle, ex.unit_domain(6), cfg)
    assert len(traces) == 1
    assert a.queries == 5 * ex.unknowns(model) and oracle.queries == 2 * a.queries
    for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert float(a.residual) < 1e-5
    assert _agree(lambda x: model.apply(a.params, x), lambda x: model.apply(params, x), 6) >= 0.999


def test_newton_config_and_access_checks(tiny_mlp):
    model, params = tiny_mlp
    with pytest.raises(ValueError, match="Unknown curvature='bfgs'.*'hessian', 'gauss_newton'"):
        ex.NewtonConfig(model=model, curvature="bfgs")
    with pytest.raises(ValueError, match="jaxpriv.models.Model"):
        ex.NewtonConfig(model=(model.apply, params))
    with pytest.raises(ValueError, match="restarts=0 > 0"):
        ex.NewtonConfig(model=model, restarts=0)
    labels = oracles.Oracle.from_model(model.apply, params, defenses=[oracles.label_only()])
    with pytest.raises(oracles.AccessError, match="label"):
        ex.extract_newton(jax.random.key(0), labels, ex.unit_domain(6),
                          ex.NewtonConfig(model=model))
    exact = oracles.Oracle.from_model(model.apply, params)
    with pytest.raises(ValueError, match="6 features; got 5"):
        ex.extract_newton(jax.random.key(0), exact, ex.unit_domain(5),
                          ex.NewtonConfig(model=model))
