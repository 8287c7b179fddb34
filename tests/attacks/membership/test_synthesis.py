import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv.attacks import membership as mia
from jaxpriv.attacks.membership import _synthesis
from jaxpriv.oracles import AccessError, Oracle, label_only


def _linear_oracle(budget=None):
    # Class c is likely when features [6c, 6c + 6) are on.
    w = np.zeros((24, 4), np.float32)
    for c in range(4):
        w[6 * c:6 * c + 6, c] = 1.5
    apply = lambda p, x: x @ p
    return Oracle.from_model(apply, jnp.asarray(w), budget=budget)


_ORACLE = _linear_oracle()


def _cfg(**kw):
    return mia.SynthesisConfig(**{"num_features": 24, "k_max": 8, "k_min": 1, "conf_min": 0.5,
                                  "rej_max": 3, "iter_max": 100, **kw})


def test_hill_climbing_finds_confident_records():
    oracle = _ORACLE
    before = oracle.queries
    classes = jnp.repeat(jnp.arange(4), 8)
    res = mia.hill_climb_synthesis(jax.random.key(0), oracle, classes, _cfg())
    assert res.x.shape == (32, 24) and res.success.mean() > 0.9
    assert res.queries == oracle.queries - before == int(res.iterations.sum())
    probs = np.asarray(oracle.query(res.x[res.success]))
    assert np.all(probs.argmax(1) == np.asarray(res.y)[np.asarray(res.success)])
    assert np.all(probs.max(1) > 0.5)
    assert set(np.unique(np.asarray(res.x))) <= {0.0, 1.0}
    # Same key, same records.
    again = mia.hill_climb_synthesis(jax.random.key(0), oracle, classes, _cfg())
    np.testing.assert_array_equal(np.asarray(res.x), np.asarray(again.x))


def test_stops_at_the_query_budget():
    oracle = _ORACLE  # one oracle for the module: its query function compiles once
    oracle.budget = oracle.queries + 50
    try:
        before = oracle.queries
        res = mia.hill_climb_synthesis(jax.random.key(0), oracle, jnp.zeros(8, jnp.int32),
                                       _cfg())
        assert res.queries <= 50 and oracle.queries - before == res.queries
    finally:
        oracle.budget = None


def test_needs_confidences_and_valid_config():
    oracle = _linear_oracle()
    oracle.defenses = ()
    lab = Oracle(lambda x: x[:, :4], defenses=[label_only()])
    with pytest.raises(AccessError):
        mia.hill_climb_synthesis(jax.random.key(0), lab, jnp.zeros(2, jnp.int32), _cfg())
    with pytest.raises(ValueError, match="k_min <= k_max <= num_features"):
        mia.SynthesisConfig(num_features=10, k_max=20)
    with pytest.raises(ValueError, match="Unknown domain='gaussian'"):
        _cfg(domain="gaussian")


def test_no_recompilation_on_new_classes_and_keys():
    oracle = _ORACLE
    mia.hill_climb_synthesis(jax.random.key(0), oracle, jnp.zeros(8, jnp.int32), _cfg())
    size = _synthesis._hill_climb._cache_size()
    mia.hill_climb_synthesis(jax.random.key(1), oracle, jnp.full(8, 2, jnp.int32), _cfg())
    assert _synthesis._hill_climb._cache_size() == size


def test_noisy_synthesis_flips_exact_share(toy):
    x = toy.x[:50]
    noisy = np.asarray(mia.noisy_synthesis(jax.random.key(0), x, 0.2))
    flips = (noisy != x).sum(1)
    assert np.all(flips == round(0.2 * 24))
    with pytest.raises(ValueError, match="binary"):
        mia.noisy_synthesis(jax.random.key(0), x + 0.5, 0.1)


def test_marginal_synthesis_keeps_class_marginals(toy):
    xs, ys = mia.marginal_synthesis(jax.random.key(0), toy.x, toy.y, 20000, 4)
    xs, ys = np.asarray(xs), np.asarray(ys)
    for c in range(4):
        np.testing.assert_allclose(xs[ys == c].mean(0), toy.x[toy.y == c].mean(0), atol=0.05)
        assert abs((ys == c).mean() - (toy.y == c).mean()) < 0.02
    # Features are drawn independently: the correlation of two columns vanishes.
    assert abs(np.corrcoef(xs[:, 0], xs[:, 1])[0, 1]) < 0.05
