"""A served decision tree checks the width of the rows it is sent."""

import json

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from jaxpriv import io, models
from jaxpriv.serve import _app, oracle_for


@pytest.fixture(scope="module")
def tree():
    rng = np.random.default_rng(0)
    x = rng.random((200, 6))
    y = (x[:, 3] > 0.5).astype(int)  # only feature 3 matters
    clf = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)
    arrays = models.from_sklearn_tree(clf)
    return arrays, int(np.max(np.asarray(arrays.feature))) + 1


def _body(rows):
    return json.dumps({"inputs": rows}).encode()


def test_tree_without_width_rejects_rows_too_narrow_to_route(tree, tmp_path):
    arrays, min_width = tree
    saved = io.load_model(io.save_model(tmp_path / "t.jpm", "tree", arrays))
    assert saved.spec == {"min_features": min_width}
    assert oracle_for(saved).input_shape is None
    with pytest.raises(_app.HTTPError, match=f"at least {min_width} features"):
        _app._parse_inputs(_body([[0.5] * (min_width - 1)]), None, 10, min_width)
    assert _app._parse_inputs(_body([[0.5] * 6]), None, 10, min_width).shape == (1, 6)


def test_tree_with_its_width_serves_exactly_that_width(tree, tmp_path):
    arrays, min_width = tree
    saved = io.load_model(io.save_model(tmp_path / "t.jpm", "tree", arrays,
                                        meta={"num_features": 6}))
    assert oracle_for(saved).input_shape == (6,)
    with pytest.raises(_app.HTTPError, match="expected rows of 6 features; got 7"):
        _app._parse_inputs(_body([[0.5] * 7]), 6, 10, min_width)
    with pytest.raises(ValueError, match="num_features"):
        io.save_model(tmp_path / "bad.jpm", "tree", arrays,
                      meta={"num_features": min_width - 1})
