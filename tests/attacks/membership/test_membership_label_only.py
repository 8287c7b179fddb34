import jax
import numpy as np
import pytest

from jaxpriv import metrics
from jaxpriv.attacks import membership as mia
from jaxpriv.attacks.membership import _label_only
from jaxpriv.oracles import Oracle, label_only


def test_gap_attack(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params, defenses=[label_only()])
    res = mia.gap_attack(jax.random.key(0), oracle, (toy.xq, toy.yq))
    labels = np.asarray(oracle.query(toy.xq))
    np.testing.assert_array_equal(np.asarray(res.scores), (labels == toy.yq).astype(np.float32))
    assert res.queries == 300
    assert res.scores[:150].mean() > res.scores[150:].mean() + 0.1


def test_perturbation_attack(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params, defenses=[label_only()])
    cfg = mia.PerturbationConfig(num_perturbations=16, noise="bitflip", flip_prob=0.1)
    a = mia.perturbation_attack(jax.random.key(0), oracle, (toy.xq, toy.yq), cfg)
    assert a.queries == 300 * 17 and oracle.queries == 300 * 17
    assert metrics.roc_auc(a.scores[:150], a.scores[150:]) > 0.65
    b = mia.perturbation_attack(jax.random.key(0), oracle, (toy.xq, toy.yq), cfg)
    np.testing.assert_array_equal(np.asarray(a.scores), np.asarray(b.scores))
    # More resolution than the gap attack: scores are shares in [0, 1].
    assert len(np.unique(np.asarray(a.scores))) > 2


def test_perturbation_no_recompilation(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params, defenses=[label_only()])
    cfg = mia.PerturbationConfig(num_perturbations=4, sigma=0.2)
    mia.perturbation_attack(jax.random.key(0), oracle, (toy.xq, toy.yq), cfg)
    size = _label_only._robustness._cache_size()
    mia.perturbation_attack(jax.random.key(1), oracle, (toy.xq[::-1], toy.yq[::-1]), cfg)
    assert _label_only._robustness._cache_size() == size


def test_bad_inputs(toy):
    with pytest.raises(ValueError, match="Unknown noise='uniform'"):
        mia.PerturbationConfig(noise="uniform")
    with pytest.raises(ValueError, match="num_perturbations"):
        mia.PerturbationConfig(num_perturbations=0)
    with pytest.raises(ValueError, match="same number of rows"):
        mia.gap_attack(jax.random.key(0), (toy.model.apply, toy.params), (toy.xq, toy.yq[:3]))
