"""MAP inversion of trees and linear models; steak survey and warfarin reproductions."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import data
from jaxpriv.attacks import (LinearInversionConfig, LinearInversionData, TreeInversionConfig,
                             TreeInversionData, invert_linear, invert_tree)
from jaxpriv.attacks.inversion import (confusion_matrix, ideal_baseline, marginal_prior,
                                       steak_study, tree_inversion_baselines, warfarin_study)
from jaxpriv.models import from_sklearn_tree, tree_apply
from jaxpriv.oracles import AccessError, Oracle, label_only


def _tree_data(n=200, seed=0):
    # y = s XOR a, with a third noise feature: the label reveals s given a.
    rng = np.random.default_rng(seed)
    s = (rng.uniform(size=n) < 0.3).astype(np.float32)
    a = rng.integers(0, 2, n).astype(np.float32)
    z = rng.integers(0, 3, n).astype(np.float32)
    x = np.stack([a, s, z], axis=1)
    y = (s != a).astype(np.int32)
    return x, y


def _fit(x, y):
    from sklearn.tree import DecisionTreeClassifier

    clf = DecisionTreeClassifier(random_state=0).fit(x, y)
    return clf, from_sklearn_tree(clf, x, y)


def test_tree_whitebox_and_blackbox_recover_the_sensitive_feature():
    x, y = _tree_data()
    clf, tree = _fit(x, y)
    prior = marginal_prior(x[:, 1], 2)
    cfg = TreeInversionConfig(sensitive=1)
    hidden = x.copy()
    hidden[:, 1] = 0  # the attacker does not know it
    wb = invert_tree(jax.random.key(0), tree, TreeInversionData(hidden, y, prior), cfg)
    assert wb.guess.shape == (200,) and wb.scores.shape == (200, 2) and wb.queries == 0
    np.testing.assert_array_equal(np.asarray(wb.value), x[:, 1])
    conf = confusion_matrix(clf.predict(x), y, 2)
    oracle = Oracle(lambda q: tree_apply(tree, q), raw="logits")
    bb = invert_tree(jax.random.key(0), oracle, TreeInversionData(hidden, y, prior, conf), cfg)
    np.testing.assert_array_equal(np.asarray(bb.guess), x[:, 1].astype(int))
    assert bb.queries == 400 and oracle.queries == 400
    # Label-only oracles suffice for the black-box estimator.
    lab = Oracle(lambda q: tree_apply(tree, q), raw="logits", defenses=[label_only()])
    bb2 = invert_tree(jax.random.key(0), lab, TreeInversionData(hidden, y, prior, conf), cfg)
    np.testing.assert_array_equal(np.asarray(bb2.guess), np.asarray(bb.guess))
    # A tree used black-box without an oracle gives the same answer (no queries).
    bb3 = invert_tree(jax.random.key(0), tree, TreeInversionData(hidden, y, prior, conf),
                      dataclasses.replace(cfg, method="blackbox"))
    np.testing.assert_array_equal(np.asarray(bb3.guess), np.asarray(bb.guess))


def test_tree_whitebox_falls_back_to_the_prior_when_the_tree_ignores_the_feature():
    x, y = _tree_data()
    y = x[:, 2].astype(np.int32)  # the label does not depend on the sensitive column
    _, tree = _fit(x, y)
    prior = np.asarray([0.7, 0.3], np.float32)
    res = invert_tree(jax.random.key(0), tree, TreeInversionData(x, y, prior),
                      TreeInversionConfig(sensitive=1))
    np.testing.assert_array_equal(np.asarray(res.guess), 0)
    base = tree_inversion_baselines(jax.random.key(0), 50, prior)
    assert np.all(base["majority"] == 0) and set(np.unique(base["random"])) <= {0, 1}
    ideal = ideal_baseline(x, y, x, y, 1)
    assert ideal.shape == (200,)


def test_tree_inversion_bad_inputs():
    x, y = _tree_data()
    _, tree = _fit(x, y)
    prior = np.asarray([0.5, 0.5], np.float32)
    cfg = TreeInversionConfig(sensitive=1)
    with pytest.raises(ValueError, match="data.prior"):
        invert_tree(jax.random.key(0), tree, TreeInversionData(x, y, np.asarray([0.5, 0.1],
                                                                                np.float32)), cfg)
    with pytest.raises(ValueError, match="config.sensitive"):
        invert_tree(jax.random.key(0), tree, TreeInversionData(x, y, prior),
                    TreeInversionConfig(sensitive=5))
    with pytest.raises(ValueError, match="data.y"):
        invert_tree(jax.random.key(0), tree, TreeInversionData(x, y + 5, prior), cfg)
    with pytest.raises(ValueError, match="method"):
        TreeInversionConfig(sensitive=1, method="greybox")
    with pytest.raises(ValueError, match="whitebox"):
        invert_tree(jax.random.key(0), Oracle(lambda q: tree_apply(tree, q)),
                    TreeInversionData(x, y, prior), dataclasses.replace(cfg, method="whitebox"))
    with pytest.raises(ValueError, match="data.confusion"):
        invert_tree(jax.random.key(0), tree, TreeInversionData(x, y, prior),
                    dataclasses.replace(cfg, method="blackbox"))


def _linear(params, x):
    return x @ params["w"] + params["b"]


def test_linear_inversion_recovers_genotype_and_counts_oracle_queries():
    rng = np.random.default_rng(0)
    n, p = 300, 6
    x = rng.normal(size=(n, p)).astype(np.float32)
    codes = np.asarray([[0, 0], [1, 0], [0, 1]], np.float32)
    g = rng.integers(0, 3, n)
    x[:, 4:] = codes[g]
    w = rng.normal(size=p).astype(np.float32)
    w[4:] = [2.0, 4.0]
    y = x @ w + 0.01 * rng.normal(size=n).astype(np.float32)
    params = {"w": jnp.asarray(w), "b": jnp.float32(0.0)}
    d = LinearInversionData(x, y, np.asarray([4, 5]), codes, np.asarray([0.3, 0.4, 0.3],
                                                                        np.float32))
    res = invert_linear(jax.random.key(0), (_linear, params), d, LinearInversionConfig(sigma=0.1))
    np.testing.assert_array_equal(np.asarray(res.guess), g)
    assert res.scores.shape == (n, 3)
    oracle = Oracle(lambda q: _linear(params, q), raw="value")
    res2 = invert_linear(jax.random.key(0), oracle, d, LinearInversionConfig(sigma=0.1))
    np.testing.assert_array_equal(np.asarray(res2.guess), g)
    assert oracle.queries == n * 3 == res2.queries
    with pytest.raises(AccessError):
        invert_linear(jax.random.key(0), Oracle(lambda q: jnp.stack([q[:, 0], -q[:, 0]], 1)),
                      d, LinearInversionConfig(sigma=0.1))
    with pytest.raises(ValueError, match="sensitive_columns"):
        invert_linear(jax.random.key(0), (_linear, params), d._replace(sensitive_columns=[4, 9]),
                      LinearInversionConfig(sigma=0.1))
    with pytest.raises(ValueError, match="sigma"):
        LinearInversionConfig(sigma=0.0)


@pytest.mark.requires_data
def test_steak_survey_whitebox_is_precise_on_members(data_dir):
    ds = data.load("steak_survey", data_dir)
    res = steak_study(jax.random.key(0), ds, num_splits=4)
    rows = {r["attack"]: r for r in res["rows"]}
    assert set(rows) == {"whitebox", "blackbox", "random", "majority", "ideal"}
    wb = rows["whitebox"]
    assert wb["accuracy"] >= rows["majority"]["accuracy"]
    assert wb["member_precision"] >= 0.8
    assert wb["member_precision"] > 2 * wb["nonmember_precision"]


@pytest.mark.requires_data
def test_warfarin_map_beats_the_majority_guess(data_dir):
    ds = data.load("warfarin", data_dir)
    res = warfarin_study(jax.random.key(0), ds, num_splits=2)
    rows = {r["attack"]: r for r in res["rows"]}
    assert rows["map"]["member_accuracy"] > rows["majority"]["member_accuracy"] + 0.1
