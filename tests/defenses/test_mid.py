"""MID (Wang, Zhang, Jia, AAAI 2021): network, linear, tree variants and the DP bound."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import data, models, training
from jaxpriv.defenses import _trainer
from jaxpriv.defenses._mid import mid_grad_fn, mid_gram_spec
from jaxpriv.defenses import (MIDHyper, MIDTree, StepConfig, dp_information_bound,
                              linear_information, make_mid_model, mid_encode,
                              mid_linear_regression, mid_loss, train_mid_many)


@pytest.fixture(scope="module")
def digits():
    ds = data.load("digits")
    idx = np.asarray(jax.random.permutation(jax.random.key(0), len(ds)))
    return ds.x[idx[:600]], ds.y[idx[:600]], ds.x[idx[600:1000]], ds.y[idx[600:1000]]


def test_mid_model_is_a_jaxpriv_model():
    m = make_mid_model(num_features=64, num_classes=10, hidden=(16,), bottleneck=4)
    assert isinstance(m, models.Model) and m.name == "mid"
    params = jax.jit(m.init)(jax.random.key(0), jnp.zeros((1, 64)))
    assert jax.eval_shape(m.apply, params, jnp.zeros((5, 64))).shape == (5, 10)

    @jax.jit
    def check(params):
        mu, std = mid_encode(m)(params, jnp.zeros((5, 64)))
        return mu, std, mid_loss(m)(params, jax.random.key(1), jnp.zeros((5, 64)),
                                    jnp.zeros(5, jnp.int32), jnp.ones(5), 0.5)

    mu, std, (total, (ce, kl)) = check(params)
    assert mu.shape == std.shape == (5, 4) and bool(jnp.all(std > 0))
    assert float(kl) > 0 and np.isclose(float(total), float(ce + 0.5 * kl), rtol=1e-5)
    with pytest.raises(ValueError, match="MID model"):
        mid_encode(models.make_model("softmax", num_features=4, num_classes=2))
    with pytest.raises(ValueError, match="num_classes"):
        make_mid_model(num_features=4, num_classes=1)


def test_lambda_sweep_trades_information_for_accuracy(digits):
    x, y, xt, yt = digits
    m = make_mid_model(num_features=64, num_classes=10, hidden=(32,), bottleneck=8)
    cfg = StepConfig(steps=150, batch_size=64, steps_per_call=150)
    keys = jax.random.split(jax.random.key(1), 3)
    hyper = MIDHyper(lam=jnp.array([0.0, 0.01, 10.0]), learning_rate=3e-3)
    params, ce = train_mid_many(keys, m, x, y, cfg, hyper)
    acc = training.accuracy_many(m.apply, params, xt, yt)

    @jax.jit
    def information(params):
        mu, std = jax.vmap(mid_encode(m), in_axes=(0, None))(params, jnp.asarray(xt))
        return 0.5 * jnp.sum(mu ** 2 + std ** 2 - 2 * jnp.log(std) - 1, axis=-1).mean(axis=-1)

    kl = information(params)
    assert acc[0] > 0.85 and acc[2] < 0.4             # strong lambda removes the signal
    assert float(kl[0]) > float(kl[1]) > float(kl[2])  # information falls with lambda
    # Same key, same result; new lambdas reuse the compiled program.
    run = _trainer._jitted(m.init, mid_grad_fn(m), cfg, mid_gram_spec(m))[1]
    compiled = run._cache_size()
    params2, _ = train_mid_many(keys, m, x, y, cfg, hyper)
    np.testing.assert_array_equal(jax.tree_util.tree_leaves(params)[0],
                                  jax.tree_util.tree_leaves(params2)[0])
    train_mid_many(keys, m, x, y, cfg, hyper._replace(lam=jnp.array([1.0, 2.0, 3.0])))
    assert run._cache_size() == compiled == 1
    with pytest.raises(ValueError, match="lam"):
        train_mid_many(keys, m, x, y, cfg, MIDHyper(lam=jnp.array([-1.0, 0.0, 1.0])))
    with pytest.raises(ValueError, match="y"):
        train_mid_many(keys, m, x, y + 10, cfg, hyper)


@pytest.mark.parametrize("hidden,num_samples", [((16,), 1), ((16, 8), 3), ((), 2)])
def test_written_out_gradient_matches_autodiff(hidden, num_samples):
    """The Gram path's hand-written MID gradient equals jax.grad of the same loss."""
    from jaxpriv.defenses import _mid

    m = make_mid_model(num_features=20, num_classes=5, hidden=hidden, bottleneck=4)
    params = m.init(jax.random.key(0), jnp.zeros((1, 20)))
    params = jax.tree_util.tree_map(
        lambda a: a + 0.3 * jax.random.normal(jax.random.key(1), a.shape), params)
    first = "enc_0" if hidden else "stats"
    rows = 7
    pre = 2.0 * jax.random.normal(jax.random.key(2), (rows, params[first]["kernel"].shape[1]))
    eps = jax.random.normal(jax.random.key(3), (num_samples, rows, 4))
    y, w = jnp.arange(rows) % 5, (jnp.arange(rows) % 3 > 0).astype(jnp.float32)
    (_, (ce, _)), (g, g_pre) = jax.value_and_grad(_mid._pre_loss(m), argnums=(0, 2),
                                                  has_aux=True)(params, eps, pre, y, w, 0.7)
    g2, g_pre2, ce2 = jax.jit(_mid._pre_grad(m))(params, eps, pre, y, w, 0.7)
    assert jax.tree_util.tree_structure(g) == jax.tree_util.tree_structure(g2)
    for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g2)):
        np.testing.assert_allclose(a, b, atol=2e-6)
    np.testing.assert_allclose(g_pre, g_pre2, atol=2e-6)
    np.testing.assert_allclose(ce, ce2, rtol=1e-6)


def test_mid_linear_regression_shrinks_information():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = (x @ np.array([2.0, -1.0, 0.5, 0.0, 1.0]) + 0.1 * rng.normal(size=300)).astype(np.float32)
    fit = mid_linear_regression(x, y, jnp.array([0.0, 1.0, 100.0]), steps=1500)
    assert fit.w.shape == (3, 5)
    ls = np.linalg.lstsq(np.c_[x, np.ones(300)], y, rcond=None)[0]
    np.testing.assert_allclose(fit.w[0], ls[:5], atol=2e-2)
    info = linear_information(fit.w, x)
    assert info[0] > info[1] > info[2]
    with pytest.raises(ValueError, match="y"):
        mid_linear_regression(x, y[:10], 0.1)


def test_mid_tree_penalises_output_information(data_dir):
    st = data.load("steak_survey", data_dir=data_dir)
    trees = [MIDTree(lam=lam, max_depth=5).fit(st.x, st.y) for lam in (0.0, 0.5, 3.0)]
    info = [t.output_information(st.x) for t in trees]
    acc = [np.mean(t.predict(st.x) == st.y) for t in trees]
    assert info[0] >= info[1] >= info[2] and info[2] < info[0]
    assert acc[0] >= acc[2]
    assert trees[2].n_leaves_ <= trees[0].n_leaves_
    np.testing.assert_allclose(trees[0].predict_proba(st.x).sum(1), 1.0)
    with pytest.raises(ValueError, match="lam"):
        MIDTree(lam=-1.0)


def test_dp_information_bound_grows_linearly_in_n():
    n = np.array([100, 1000, 10000])
    b = dp_information_bound(1.0, 1e-6, n, domain_size=256)
    np.testing.assert_allclose(b / n, b[0] / n[0])
    assert dp_information_bound(0.0, 0.0, 1000) == 0.0
    # delta = 0: epsilon nats per record (KL <= max-divergence), in bits.
    assert np.isclose(dp_information_bound(1.0, 0.0, 10, domain_size=256), 10 * np.log2(np.e))
    # The delta terms: delta log2|X| + h(delta) + log2(1 / (1 - delta)).
    d = 1e-3
    h = -d * np.log2(d) - (1 - d) * np.log2(1 - d)
    assert np.isclose(dp_information_bound(0.5, d, 1, domain_size=2 ** 10),
                      0.5 * np.log2(np.e) + 10 * d + h - np.log2(1 - d))
    # No record can leak more than its own entropy, log2|X| bits.
    assert dp_information_bound(50.0, 0.0, 7, domain_size=16) == 7 * 4.0
    assert dp_information_bound(1.0, 0.0, 10) == 10.0            # binary records: 1 bit each
    assert dp_information_bound(2.0, 1e-6, 100, domain_size=256) > dp_information_bound(
        1.0, 1e-6, 100, domain_size=256)
    assert dp_information_bound(1.0, 1e-3, 100, domain_size=256) > dp_information_bound(
        1.0, 1e-6, 100, domain_size=256)
    with pytest.raises(ValueError, match="delta"):
        dp_information_bound(1.0, 1.5, 100)
    with pytest.raises(ValueError, match="domain_size"):
        dp_information_bound(1.0, 0.0, 100, domain_size=1)
