"""Saving and loading targets and shadow models (jaxpriv.io)."""

import json
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from jaxpriv import io, models


def _mlp():
    m = models.make_model("mlp", num_features=6, num_classes=3, hidden=(5,), activation="tanh")
    return m, m.init(jax.random.key(1), jnp.zeros((1, 6)))


def test_roundtrip_flax_model_predicts_the_same(tmp_path):
    m, p = _mlp()
    path = io.save_model(tmp_path / "t.jpm", m, p, meta={"dataset": "toy"})
    saved = io.load_model(path)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_array_equal(saved.model.apply(saved.params, x), m.apply(p, x))
    assert saved.kind == "flax" and saved.meta == {"dataset": "toy"} and saved.stacked is None
    assert saved.spec["activation"] == "tanh" and saved.spec["hidden"] == [5]


@pytest.mark.parametrize("name", ["softmax", "cnn"])
def test_roundtrip_every_architecture(tmp_path, name):
    m = models.make_model(name, num_features=16, num_classes=2, hidden=(4,),
                          image_shape=(4, 4), channels=(2,))
    p = m.init(jax.random.key(0), jnp.zeros((1, 16)))
    saved = io.load_model(io.save_model(tmp_path / "m.jpm", m, p))
    x = jnp.ones((2, 16))
    np.testing.assert_array_equal(saved.model.apply(saved.params, x), m.apply(p, x))


def test_stacked_shadow_models(tmp_path):
    m, _ = _mlp()
    stacked = jax.vmap(lambda k: m.init(k, jnp.zeros((1, 6))))(jax.random.split(jax.random.key(0), 3))
    saved = io.load_model(io.save_model(tmp_path / "s.jpm", m, stacked, stacked=True))
    assert saved.stacked == 3
    for a, b in zip(jax.tree_util.tree_leaves(saved.params), jax.tree_util.tree_leaves(stacked)):
        np.testing.assert_array_equal(a, b)


def test_tree_and_pytree(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    tree = models.from_sklearn_tree(DecisionTreeClassifier(max_depth=3).fit(x, y), x, y)
    saved = io.load_model(io.save_model(tmp_path / "tree.jpm", "tree", tree))
    np.testing.assert_array_equal(saved.apply_fn(saved.params, x), models.tree_apply(tree, x))
    lin = {"w": np.ones((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    back = io.load_model(io.save_model(tmp_path / "lin.jpm", "pytree", lin))
    np.testing.assert_array_equal(back.params["w"], lin["w"])


def _rewrite_header(path, **changes):
    blob = path.read_bytes()
    (n,) = struct.unpack("<I", blob[8:12])
    header = json.loads(blob[12:12 + n])
    header.update(changes)
    hb = json.dumps(header).encode()
    path.write_bytes(blob[:8] + struct.pack("<I", len(hb)) + hb + blob[12 + n:])


def test_other_version_and_bad_files_give_clear_errors(tmp_path):
    m, p = _mlp()
    path = io.save_model(tmp_path / "t.jpm", m, p)
    _rewrite_header(path, version=2)
    with pytest.raises(io.FormatVersionError, match="version 2.*reads 'jaxpriv.model' version 1"):
        io.load_model(path)
    (tmp_path / "junk.jpm").write_bytes(b"not a model")
    with pytest.raises(io.FormatVersionError, match="not a jaxpriv model file"):
        io.load_model(tmp_path / "junk.jpm")
    with pytest.raises(FileNotFoundError):
        io.load_model(tmp_path / "missing.jpm")
    path = io.save_model(tmp_path / "c.jpm", m, p)
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="corrupt"):
        io.load_model(path)


def test_bad_arguments(tmp_path):
    m, p = _mlp()
    with pytest.raises(ValueError, match="model"):
        io.save_model(tmp_path / "x.jpm", "forest", p)
    with pytest.raises(ValueError, match="leading"):
        io.save_model(tmp_path / "x.jpm", m, p, stacked=True)
