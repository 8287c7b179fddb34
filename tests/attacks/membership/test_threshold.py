import jax
import numpy as np
import pytest

from jaxpriv import metrics
from jaxpriv.attacks import membership as mia
from jaxpriv.attacks.membership import _threshold
from jaxpriv.oracles import AccessError, Oracle, label_only


def _reference(p, y):
    n, c = p.shape
    py = p[np.arange(n), y]
    ent = -(p * np.log(p)).sum(1)
    other = np.ones_like(p, bool)
    other[np.arange(n), y] = False
    ment = -(1 - py) * np.log(py) - np.where(other, p * np.log(1 - p), 0).sum(1)
    return {"loss": np.log(py), "confidence": py, "entropy": -ent,
            "modified_entropy": -ment, "normalized_entropy": -ent / np.log(c)}


def test_scores_match_numpy_reference():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=40).astype(np.float32)
    y = rng.integers(0, 5, 40).astype(np.int32)
    got = np.asarray(mia.membership_scores(p, y))
    ref = _reference(p.astype(np.float64), y)
    for i, name in enumerate(mia.SCORES):
        np.testing.assert_allclose(got[i], ref[name], rtol=2e-4, atol=2e-5, err_msg=name)


def test_confident_correct_prediction_scores_highest():
    p = np.array([[0.98, 0.01, 0.01], [0.4, 0.3, 0.3], [0.01, 0.98, 0.01]], np.float32)
    y = np.array([0, 0, 0], np.int32)
    s = np.asarray(mia.membership_scores(p, y, ("loss", "modified_entropy")))
    assert np.all(s[:, 0] > s[:, 1]) and np.all(s[:, 1] > s[:, 2])
    # Entropy ignores the label: the confidently wrong row looks like a member.
    e = np.asarray(mia.membership_scores(p, y, ("entropy",)))[0]
    assert e[2] == pytest.approx(e[0])


def test_threshold_attack_on_overfit_target(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params)
    res = mia.threshold_attack(jax.random.key(0), oracle, (toy.xq, toy.yq))
    assert res.queries == 300 and res.scores.shape == (5, 300)
    for i, name in enumerate(mia.SCORES):
        assert metrics.roc_auc(res.scores[i][:150], res.scores[i][150:]) > 0.65, name
    # A threshold calibrated on shadow models transfers to the target.
    sh = np.asarray(mia.shadow_outputs(jax.random.key(0), toy.shadows, toy.model.apply,
                                       toy.x[toy.pool]))
    s = np.asarray(mia.membership_scores(sh.reshape(-1, 4), np.tile(toy.y[toy.pool], 2),
                                         ("loss",))).reshape(2, -1)
    t = mia.best_threshold(s[toy.shadows.in_mask], s[toy.shadows.out_mask])
    pred = np.asarray(res.scores[0]) >= t
    assert metrics.accuracy(pred, toy.truth) > 0.6


def test_needs_probabilities(toy):
    oracle = Oracle.from_model(toy.model.apply, toy.params, defenses=[label_only()])
    with pytest.raises(AccessError, match="threshold_attack needs oracle outputs"):
        mia.threshold_attack(jax.random.key(0), oracle, (toy.xq, toy.yq))
    with pytest.raises(ValueError, match="Unknown scores='gap'"):
        mia.ThresholdConfig(scores=("gap",))


def test_no_recompilation_on_new_values():
    traces = []
    orig = _threshold._SCORE_FNS["loss"]
    _threshold._SCORE_FNS["loss"] = lambda p, y: (traces.append(1), orig(p, y))[1]
    try:
        _threshold._scores_jit.clear_cache()
        rng = np.random.default_rng(1)
        for _ in range(3):
            p = rng.dirichlet(np.ones(3), size=7).astype(np.float32)
            mia.membership_scores(p, rng.integers(0, 3, 7).astype(np.int32), ("loss",))
        assert len(traces) == 1
    finally:
        _threshold._SCORE_FNS["loss"] = orig
