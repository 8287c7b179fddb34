"""Trees with the sensitive feature forced to a depth (Fredrikson et al., CCS 2015, Sec. 6)."""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.base import clone

from jaxpriv import data, models
from jaxpriv.defenses import SensitiveDepthTree


@pytest.fixture(scope="module")
def steak(data_dir):
    return data.load("steak_survey", data_dir=data_dir)


@pytest.mark.parametrize("depth", [0, 2, 4])
def test_sensitive_feature_sits_at_the_chosen_depth(steak, depth):
    s = steak.sensitive
    clf = SensitiveDepthTree(sensitive_feature=s, sensitive_depth=depth, max_depth=6)
    clf.fit(steak.x, steak.y)
    t = clf.tree_
    uses = clf.node_depth_[t.feature == s]
    assert uses.size > 0 and np.all(uses == depth)
    # Every internal node at that depth splits on it when it varies there.
    internal = (t.children_left >= 0) & (clf.node_depth_ == depth)
    assert np.all(t.feature[internal] == s)
    assert clf.score(steak.x, steak.y) > 0.4
    # The TreeArrays form answers like the estimator (for jaxpriv attacks).
    ta = clf.to_tree_arrays()
    pred = np.asarray(models.tree_predict_proba(ta, jnp.asarray(steak.x))).argmax(1)
    np.testing.assert_array_equal(clf.classes_[pred], clf.predict(steak.x))


def test_sklearn_compatibility_and_errors(steak):
    clf = SensitiveDepthTree(sensitive_feature=steak.sensitive, sensitive_depth=1, max_depth=3)
    c2 = clone(clf)
    assert c2.get_params()["sensitive_depth"] == 1
    c2.fit(steak.x, steak.y)
    assert c2.get_depth() <= 3 and c2.get_n_leaves() >= 2
    assert c2.predict_proba(steak.x).shape == (len(steak), c2.classes_.size)
    with pytest.raises(ValueError, match="sensitive_feature"):
        SensitiveDepthTree(sensitive_feature=99).fit(steak.x, steak.y)
    with pytest.raises(ValueError, match="sensitive_depth"):
        SensitiveDepthTree(sensitive_depth=5, max_depth=3).fit(steak.x, steak.y)
    with pytest.raises(ValueError, match="rows"):
        SensitiveDepthTree().fit(steak.x, steak.y[:5])
