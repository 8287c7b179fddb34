"""Newton extraction: softmax under rounding, one-hidden-layer MLP (Tramèr et al. 2016, §4.1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import models, oracles
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


@pytest.fixture(scope="module")
def location_like():
    """A Location-shaped tanh MLP 60 -> 4 -> 8 (284 unknowns) and sparse binary test rows
    (12% ones, like the Location check-ins)."""
    d, c = 60, 8
    model = models.make_model("mlp", num_features=d, num_classes=c, hidden=(4,),
                              activation="tanh")
    params = model.init(jax.random.key(3), jnp.zeros((1, d)))
    params = jax.tree_util.tree_map(
        lambda a: 3.0 * a + 0.1 * jax.random.normal(jax.random.key(4), a.shape), params)
    x_test = (np.random.default_rng(0).uniform(size=(5000, d)) < 0.12).astype(np.float32)
    return model, params, x_test


def test_location_like_mlp_from_five_queries_per_unknown_over_keys(location_like):
    # The Location case in miniature: 5 queries per unknown, >= 99.9% agreement on
    # test and uniform points from every key, converged well before the step cap.
    model, params, x_test = location_like
    d = model.num_features
    oracle = oracles.Oracle.from_model(model.apply, params)
    cfg = ex.NewtonConfig(model=model, queries_per_unknown=5, curvature="gauss_newton",
                          solver="cg", steps=100)
    assert ex.resolve_loss(cfg, oracle) == "logratio" and cfg.distribution == "sparse"
    target = lambda x: model.apply(params, x)
    for k in range(3):
        res = ex.extract_newton(jax.random.key(k), oracle, ex.unit_domain(d), cfg)
        assert res.queries == 5 * ex.unknowns(model) == 5 * 284
        stolen = lambda x, p=res.params: model.apply(p, x)
        assert _agree(stolen, target, d) >= 0.999
        t = np.asarray(target(x_test)).argmax(1)
        assert np.mean(np.asarray(stolen(x_test)).argmax(1) == t) >= 0.999
        assert int(res.usable) < 100 and float(res.residual) < 1e-8


def test_cg_matches_a_dense_solve():
    from jaxpriv.attacks.extraction._newton import _cg

    a = np.random.default_rng(0).normal(size=(30, 30)).astype(np.float32)
    a = a @ a.T + 0.5 * np.eye(30, dtype=np.float32)
    b = np.arange(30, dtype=np.float32) / 30
    x = jax.jit(lambda b: _cg(lambda v: jnp.asarray(a) @ v, b, 200, 1e-7))(jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)
    # A matrix with no positive curvature along b: stops at once, keeps x = 0.
    x0 = _cg(lambda v: -v, jnp.ones(3), 10, 1e-7)
    np.testing.assert_array_equal(np.asarray(x0), np.zeros(3))


def test_sparse_queries_fill_the_box_at_every_density():
    dom = ex.box_domain(np.full(50, -1.0), np.full(50, 3.0))
    x = np.asarray(ex.sparse_queries(jax.random.key(0), dom, 400))
    assert x.shape == (400, 50) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 3.0
    at_low = np.mean(x == -1.0, axis=1)  # the share of features left at the low end
    assert at_low.min() < 0.1 and at_low.max() > 0.9
    np.testing.assert_array_equal(x, np.asarray(ex.sparse_queries(jax.random.key(0), dom, 400)))


def test_loss_follows_the_oracle(tiny_mlp):
    model, params = tiny_mlp
    exact = oracles.Oracle.from_model(model.apply, params)
    rounded = oracles.Oracle.from_model(model.apply, params,
                                        defenses=[oracles.round_outputs(2)])
    cfg = ex.NewtonConfig(model=model)
    assert ex.resolve_loss(cfg, exact) == "logratio"
    assert ex.resolve_loss(cfg, rounded) == "kl"
    assert ex.resolve_loss(ex.NewtonConfig(model=model, loss="kl"), exact) == "kl"
    with pytest.raises(ValueError, match="Unknown loss='mse'"):
        ex.NewtonConfig(model=model, loss="mse")
    with pytest.raises(ValueError, match="Unknown distribution='gauss'"):
        ex.NewtonConfig(model=model, distribution="gauss")


@pytest.mark.parametrize("draw", [ex.sparse_queries, ex.uniform_queries])
def test_query_draws_reject_bad_arguments(draw):
    dom = ex.unit_domain(4)
    with pytest.raises(ValueError, match="n to be a positive int"):
        draw(jax.random.key(0), dom, 0)
    with pytest.raises(ValueError, match="n to be a positive int"):
        draw(jax.random.key(0), dom, 2.5)
    with pytest.raises(ValueError, match="domain to be a Domain"):
        draw(jax.random.key(0), (np.zeros(4), np.ones(4)), 3)
