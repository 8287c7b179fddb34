import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from jaxpriv import models


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16).astype(np.float32), y.astype(np.int32)


@pytest.mark.parametrize("name", models.MODELS)
def test_every_model_gives_logits_of_the_declared_shape(name):
    m = models.make_model(name, num_features=64, num_classes=10, hidden=(16,),
                          image_shape=(8, 8))
    params = m.init(jax.random.key(0), jnp.zeros((1, 64)))
    out = m.apply(params, jnp.ones((5, 64)))
    assert out.shape == (5, 10) and out.dtype == jnp.float32
    # Same key, same parameters; another key, other parameters.
    again = m.init(jax.random.key(0), jnp.zeros((1, 64)))
    other = m.init(jax.random.key(1), jnp.zeros((1, 64)))
    leaves = jax.tree_util.tree_leaves
    assert all(np.array_equal(a, b) for a, b in zip(leaves(params), leaves(again)))
    assert not all(np.array_equal(a, b) for a, b in zip(leaves(params), leaves(other)))


def test_mi_face_mlp_has_3000_sigmoid_units():
    m = models.make_model("mlp", num_features=10304, num_classes=40, hidden=(3000,),
                          activation="sigmoid")
    params = m.init(jax.random.key(0), jnp.zeros((1, 10304)))
    assert params["hidden_0"]["kernel"].shape == (10304, 3000)
    assert models.count_params(params) == 10304 * 3000 + 3000 + 3000 * 40 + 40


def test_dae_reconstructs_in_unit_range():
    m = models.make_model("dae", num_features=64, num_classes=10, hidden=(32, 16))
    params = m.init(jax.random.key(0), jnp.zeros((1, 64)))
    rec = models.dae_reconstruct_fn(m)(params, jnp.ones((3, 64)))
    assert rec.shape == (3, 64)
    assert float(rec.min()) >= 0.0 and float(rec.max()) <= 1.0
    with pytest.raises(ValueError, match="dae"):
        models.dae_reconstruct_fn(models.make_model("softmax", num_features=4, num_classes=2))


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="transformer", num_features=4, num_classes=2), "Unknown model='transformer'"),
    (dict(name="mlp", num_features=4, num_classes=1), "num_classes=1"),
    (dict(name="mlp", num_features=0, num_classes=2), "num_features=0"),
    (dict(name="mlp", num_features=4, num_classes=2, activation="swishy"), "activation"),
    (dict(name="cnn", num_features=64, num_classes=2, image_shape=(4, 4)), "image_shape"),
])
def test_bad_model_arguments_are_named(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        models.make_model(name, **kwargs)


def test_sklearn_logistic_matches_predict_proba(digits):
    x, y = digits
    clf = LogisticRegression(max_iter=300).fit(x, y)
    apply_fn, params = models.from_sklearn_logistic(clf)
    probs = jax.nn.softmax(apply_fn(params, jnp.asarray(x[:50])), axis=-1)
    np.testing.assert_allclose(probs, clf.predict_proba(x[:50]), atol=1e-5)


def test_sklearn_binary_logistic_matches_predict_proba(digits):
    x, y = digits
    sel = y < 2
    clf = LogisticRegression(max_iter=300).fit(x[sel], y[sel])
    apply_fn, params = models.from_sklearn_logistic(clf)
    assert params["w"].shape == (64, 2)
    probs = jax.nn.softmax(apply_fn(params, jnp.asarray(x[sel][:20])), axis=-1)
    np.testing.assert_allclose(probs, clf.predict_proba(x[sel][:20]), atol=1e-5)


def test_sklearn_linear_regression_matches_predict(digits):
    x, y = digits
    reg = LinearRegression().fit(x, y.astype(float))
    apply_fn, params = models.from_sklearn_linear(reg)
    np.testing.assert_allclose(apply_fn(params, jnp.asarray(x[:30])), reg.predict(x[:30]),
                               rtol=1e-4, atol=1e-3)


def test_tree_arrays_reproduce_sklearn_leaves_probs_and_counts(digits):
    x, y = digits
    clf = DecisionTreeClassifier(max_depth=7, random_state=0).fit(x, y)
    tree = models.from_sklearn_tree(clf, x, y)
    leaf = np.asarray(jax.jit(models.tree_leaf)(tree, jnp.asarray(x)))
    np.testing.assert_array_equal(leaf, clf.apply(x))
    np.testing.assert_allclose(models.tree_predict_proba(tree, jnp.asarray(x)),
                               clf.predict_proba(x), atol=1e-6)
    counts = np.asarray(tree.counts)
    # Per-leaf training counts: leaves partition the training set by class.
    leaves = np.asarray(tree.left) < 0
    np.testing.assert_array_equal(counts[leaves].sum(0), np.bincount(y, minlength=10))
    np.testing.assert_array_equal(counts[0], np.bincount(y, minlength=10))
    # Without the data the counts are rebuilt from fractions and node sizes.
    approx = np.asarray(models.from_sklearn_tree(clf).counts)
    np.testing.assert_allclose(approx, counts, atol=1e-3)
    assert tree.num_leaves == clf.get_n_leaves()


def test_converters_reject_unfitted_models():
    with pytest.raises(ValueError, match="fitted"):
        models.from_sklearn_logistic(LogisticRegression())
    with pytest.raises(ValueError, match="fitted"):
        models.from_sklearn_tree(DecisionTreeClassifier())
