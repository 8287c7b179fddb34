import jax
import numpy as np
import pytest

from jaxpriv import metrics
from jaxpriv.attacks import membership as mia
from jaxpriv.oracles import Oracle, label_only, round_outputs, top_k


def _cfg(toy, **kw):
    return mia.ShokriConfig(shadow=toy.shadow_cfg, **{"attack_epochs": 20, **kw})


def _data(toy):
    return mia.ShokriData(toy.x[toy.pool], toy.y[toy.pool], toy.xq, toy.yq)


def test_attack_succeeds_against_overfit_target(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params)
    res = mia.shokri_attack(jax.random.key(0), oracle, _data(toy), _cfg(toy), shadows=toy.shadows)
    assert res.queries == oracle.queries == 300
    pred = np.asarray(res.predictions)
    assert metrics.precision(pred, toy.truth) > 0.6
    assert metrics.recall(pred, toy.truth) > 0.5
    assert metrics.roc_auc(res.scores[:150], res.scores[150:]) > 0.7
    assert res.scores.shape == (300,) and res.attack_train_accuracy.shape == (4,)


def test_same_key_same_result_and_white_box_target(toy):
    from jaxpriv.attacks.membership import _shokri

    a = mia.shokri_attack(jax.random.key(5), (toy.model.apply, toy.params), _data(toy), _cfg(toy),
                          shadows=toy.shadows)
    compiled = _shokri._train_attack_jit._cache_size()
    b = mia.shokri_attack(jax.random.key(5), Oracle.from_model(toy.model.apply, toy.params),
                          _data(toy), _cfg(toy), shadows=toy.shadows)
    np.testing.assert_array_equal(np.asarray(a.scores), np.asarray(b.scores))
    # A new key and learning rate reuse the compiled attack-model trainer.
    mia.shokri_attack(jax.random.key(6), (toy.model.apply, toy.params), _data(toy),
                      _cfg(toy, attack_learning_rate=3e-3), shadows=toy.shadows)
    assert _shokri._train_attack_jit._cache_size() == compiled


@pytest.mark.parametrize("defense", [top_k(1), round_outputs(1), label_only()])
def test_defended_oracles_still_leak_but_less(toy, defense):
    # The attack models see the same defence on the shadow outputs.
    oracle = Oracle.from_model(toy.model.apply, toy.params, defenses=[defense])
    res = mia.shokri_attack(jax.random.key(0), oracle, _data(toy), _cfg(toy), shadows=toy.shadows)
    auc = metrics.roc_auc(res.scores[:150], res.scores[150:])
    assert 0.5 < auc < 0.95


def test_attack_set_and_models(toy):
    aset = mia.attack_set(jax.random.key(0), toy.shadows, toy.model.apply, toy.x[toy.pool],
                          toy.y[toy.pool], 4)
    assert aset.features.shape == (2 * 300, 4)
    assert aset.membership.sum() == 2 * 150
    models = mia.train_attack_models(jax.random.key(1), aset, 4, _cfg(toy))
    assert float(np.mean(np.asarray(models.train_accuracy))) > 0.6
    scores = mia.attack_scores(models, aset.features, aset.labels)
    assert scores.shape == (600,) and float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0


def test_bad_inputs(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params)
    bad = mia.ShokriData(toy.x[toy.pool], toy.y[toy.pool], toy.xq[:, :5], toy.yq)
    with pytest.raises(ValueError, match="24 columns"):
        mia.shokri_attack(jax.random.key(0), oracle, bad, _cfg(toy), shadows=toy.shadows)
    bad = mia.ShokriData(toy.x[toy.pool], toy.y[toy.pool], toy.xq, toy.yq + 10)
    with pytest.raises(ValueError, match="data.y in \\[0, 3\\]"):
        mia.shokri_attack(jax.random.key(0), oracle, bad, _cfg(toy), shadows=toy.shadows)
    xn = toy.xq.copy()
    xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="data.x to be finite"):
        mia.shokri_attack(jax.random.key(0), oracle, mia.ShokriData(
            toy.x[toy.pool], toy.y[toy.pool], xn, toy.yq), _cfg(toy), shadows=toy.shadows)
    with pytest.raises(ValueError, match="Unknown features='raw'"):
        _cfg(toy, features="raw")
    with pytest.raises(ValueError, match="attack_epochs"):
        _cfg(toy, attack_epochs=0)


def test_budget_is_checked_before_training(toy):
    from jaxpriv.oracles import QueryBudgetExceeded

    oracle = Oracle.from_model(toy.model.apply, toy.params, budget=10)
    with pytest.raises(QueryBudgetExceeded):
        mia.shokri_attack(jax.random.key(0), oracle, _data(toy), _cfg(toy), shadows=toy.shadows)
    assert oracle.queries == 0


def test_sorted_features_are_class_agnostic_and_still_leak(toy):
    p = np.array([[0.1, 0.7, 0.2], [0.6, 0.1, 0.3]], np.float32)
    np.testing.assert_allclose(mia.featurize(p, 3, "sorted"),
                               [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
    oracle = Oracle.from_model(toy.model.apply, toy.params)
    res = mia.shokri_attack(jax.random.key(0), oracle, _data(toy),
                            _cfg(toy, features="sorted"), shadows=toy.shadows)
    assert metrics.roc_auc(res.scores[:150], res.scores[150:]) > 0.7
