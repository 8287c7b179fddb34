import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import oracles as O

W = jnp.asarray(np.random.default_rng(0).normal(size=(6, 4)), jnp.float32)


def predict(x):
    return x @ W


@pytest.fixture
def x():
    return np.random.default_rng(1).normal(size=(10, 6)).astype(np.float32)


def test_probabilities_and_query_count(x):
    o = O.Oracle(predict)
    p = o.query(x)
    np.testing.assert_allclose(p, jax.nn.softmax(x @ W), rtol=1e-5)
    o.query(x[:3])
    assert o.queries == 13 and o.kind == O.PROBABILITIES


def test_defenses_compose_in_order(x):
    o = O.Oracle(predict, defenses=[O.temperature(3.0), O.round_outputs(2), O.top_k(2)])
    p = np.asarray(o.query(x))
    assert o.kind == O.TOPK
    assert np.all((p > 0).sum(1) == 2)
    np.testing.assert_allclose(p, np.round(p, 2), atol=1e-7)
    top = np.argmax(np.asarray(x @ W), 1)
    # The true top label keeps the largest (possibly tied after rounding) value.
    assert np.all(p[np.arange(len(p)), top] == p.max(1))
    assert o.describe() == "logits -> temperature(3) -> round(2) -> top_k(2)"


def test_label_only_and_access_checks(x):
    o = O.Oracle(predict, defenses=[O.label_only()])
    labels = o.query(x)
    assert labels.dtype == jnp.int32
    np.testing.assert_array_equal(labels, np.argmax(x @ np.asarray(W), 1))
    with pytest.raises(O.AccessError, match="needs oracle outputs of kind probabilities"):
        o.require(O.PROBABILITIES, attack="MI-Face")
    rounded = O.Oracle(predict, defenses=[O.round_outputs(3)])
    rounded.require(O.PROBABILITIES)
    with pytest.raises(O.AccessError, match="exact confidences"):
        rounded.require(O.PROBABILITIES, exact=True)


def test_defense_after_label_only_is_rejected():
    with pytest.raises(ValueError, match="Reorder"):
        O.Oracle(predict, defenses=[O.label_only(), O.round_outputs(2)])


def test_budget(x):
    o = O.Oracle(predict, budget=12)
    o.query(x)
    with pytest.raises(O.QueryBudgetExceeded, match="budget=12"):
        o.query(x[:3])
    assert o.queries == 10
    with pytest.raises(O.QueryBudgetExceeded):
        o.reserve(3)
    o.charge(2)
    assert o.remaining == 0


def test_noise_is_keyed_and_pure_fn_matches_query(x):
    a = O.Oracle(predict, defenses=[O.gaussian_noise(0.05)], key=jax.random.key(3))
    b = O.Oracle(predict, defenses=[O.gaussian_noise(0.05)], key=jax.random.key(3))
    pa, pb = a.query(x), b.query(x)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_allclose(np.asarray(pa).sum(1), 1.0, rtol=1e-5)
    assert not np.array_equal(pa, a.query(x))
    k = jax.random.key(5)
    np.testing.assert_allclose(jax.jit(a.pure_fn)(k, x), a.pure_fn(k, x), atol=1e-6)


def test_reverse_sigmoid_keeps_top_label_for_small_beta(x):
    o = O.Oracle(predict, defenses=[O.reverse_sigmoid(0.1)])
    p = np.asarray(o.query(x))
    assert np.array_equal(p.argmax(1), np.argmax(x @ np.asarray(W), 1))
    assert not np.allclose(p, jax.nn.softmax(x @ W), atol=1e-3)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((3, 5), np.float32), r"shape \(n, 6\)"),
    (np.full((2, 6), np.nan, np.float32), "finite"),
    (np.zeros((0, 6), np.float32), "non-empty"),
])
def test_bad_queries_are_named(bad, match):
    o = O.Oracle(predict, input_shape=(6,))
    with pytest.raises(ValueError, match=match):
        o.query(bad)
    assert o.queries == 0


@pytest.mark.parametrize("spec,name", [
    ("round:3", "round(3)"), ("top_k:1", "top_k(1)"), ("label_only", "label_only"),
    ("temperature:5", "temperature(5)"), ("gaussian_noise:0.01", "gaussian_noise(0.01)"),
])
def test_parse_defense(spec, name):
    assert O.parse_defense(spec).name == name


@pytest.mark.parametrize("spec,match", [
    ("blur:3", "Unknown defense='blur'"), ("round:-1", "decimals"), ("top_k:0", "k=0"),
    ("temperature:0", "t=0"),
])
def test_bad_defense_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        O.parse_defense(spec)


def test_answers_use_full_float32_matmuls_unless_asked():
    """An oracle answers like a deployed API, in full float32: on GPUs and TPUs
    JAX's default matmul precision (TF32 / bfloat16 inputs) would otherwise add
    ~1e-3 noise that breaks equation-solving extraction. ``precision=None``
    follows the setting in effect. On a CPU the values agree whatever the
    precision; the compiled program says which was asked."""
    w = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
    xq = jnp.ones((2, 4), jnp.float32)

    def precisions(oracle):
        text = jax.jit(oracle.pure_fn).lower(jax.random.key(0), xq).as_text()
        found = [line.split("precision = [")[1].split("]")[0]
                 for line in text.splitlines() if "dot_general" in line]
        assert found, text
        return set(found)

    full, ambient = O.Oracle(lambda v: v @ w), O.Oracle(lambda v: v @ w, precision=None)
    assert full.precision == "highest"
    with jax.default_matmul_precision("tensorfloat32"):
        assert precisions(full) == {"HIGHEST, HIGHEST"}
        assert precisions(ambient) == {"HIGH, HIGH"}
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(full.query(xq), ambient.query(xq))
    with pytest.raises(ValueError, match="precision='float64'"):
        O.Oracle(lambda v: v @ w, precision="float64")
