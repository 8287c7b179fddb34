"""Decision-tree path finding (Tramèr et al. 2016, §4.2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from jaxpriv import models, oracles
from jaxpriv.attacks import extraction as ex


def _check_exact(stolen, tree, x_test, domain):
    u = np.asarray(ex.uniform_queries(jax.random.key(9), domain, 5000))
    for x in (x_test, u):
        got = np.asarray(ex.stolen_tree_apply(stolen, jnp.asarray(x, jnp.float32)))
        want = np.asarray(models.tree_leaf(tree, jnp.asarray(x, jnp.float32)))
        np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def digits_tree(digits):
    clf = DecisionTreeClassifier(max_leaf_nodes=20, random_state=0).fit(digits.x, digits.y)
    return models.from_sklearn_tree(clf)


@pytest.mark.parametrize("incomplete", [False, True])
def test_recovers_a_20_leaf_digits_tree_exactly(digits, digits_tree, incomplete):
    tree = digits_tree
    assert tree.num_leaves == 20
    oracle = ex.tree_oracle(tree, incomplete=incomplete)
    dom = ex.unit_domain(64)
    stolen = ex.extract_tree(jax.random.key(0), oracle, dom, ex.TreeConfig(incomplete=incomplete))
    assert stolen.num_leaves == 20
    assert stolen.queries == oracle.queries > 0
    _check_exact(stolen, tree, digits.x, dom)


@pytest.fixture(scope="module")
def mixed_tree():
    """Features 0-3 continuous, 4-6 categorical codes (4, 3 and 5 values)."""
    rng = np.random.default_rng(0)
    n = 3000
    cont = rng.uniform(-2, 3, size=(n, 4))
    cats = np.stack([rng.integers(0, k, n) for k in (4, 3, 5)], axis=1)
    x = np.concatenate([cont, cats], axis=1).astype(np.float32)
    y = ((cont[:, 0] > 0.3) ^ (cats[:, 0] % 2 == 1) ^ (cats[:, 2] > 2)
         ^ (cont[:, 1] + cont[:, 2] > 1)).astype(int)
    clf = DecisionTreeClassifier(max_leaf_nodes=22, random_state=0).fit(x, y)
    low = np.array([-2, -2, -2, -2, 0, 0, 0], np.float32)
    high = np.array([3, 3, 3, 3, 3, 2, 4], np.float32)
    return models.from_sklearn_tree(clf), x, ex.box_domain(low, high)


@pytest.mark.parametrize("incomplete", [False, True])
def test_categorical_features(mixed_tree, incomplete):
    tree, x, dom = mixed_tree
    oracle = ex.tree_oracle(tree, incomplete=incomplete)
    cfg = ex.TreeConfig(categorical=(4, 5, 6), incomplete=incomplete)
    stolen = ex.extract_tree(jax.random.key(1), oracle, dom, cfg)
    assert stolen.num_leaves == tree.num_leaves
    u = np.array(ex.uniform_queries(jax.random.key(2), dom, 3000))
    u[:, 4:] = np.floor(u[:, 4:] + 0.5)
    for pts in (x, u):
        got = np.asarray(ex.stolen_tree_apply(stolen, jnp.asarray(pts)))
        np.testing.assert_array_equal(got, np.asarray(models.tree_leaf(tree, jnp.asarray(pts))))
    if not incomplete:  # same key, same result
        again = ex.extract_tree(jax.random.key(1), ex.tree_oracle(tree), dom, cfg)
        assert again.queries == stolen.queries
        np.testing.assert_array_equal(np.asarray(again.high), np.asarray(stolen.high))


def test_tree_checks(digits_tree):
    probs = oracles.Oracle(lambda x: models.tree_apply(digits_tree, x))
    with pytest.raises(oracles.AccessError, match="leaf"):
        ex.extract_tree(jax.random.key(0), probs, ex.unit_domain(64))
    with pytest.raises(ValueError, match="distinct categorical"):
        ex.TreeConfig(categorical=(1, 1))
    with pytest.raises(ValueError, match="codes 0..k-1"):
        ex.extract_tree(jax.random.key(0), ex.tree_oracle(digits_tree),
                        ex.box_domain(np.full(64, 0.5), np.ones(64)),
                        ex.TreeConfig(categorical=(3,)))
