import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve as sk_roc

from jaxpriv import metrics as M


def test_binary_metrics():
    pred = np.array([1, 1, 0, 0, 1])
    truth = np.array([1, 0, 0, 1, 1])
    assert M.accuracy(pred, truth) == 0.6
    assert M.precision(pred, truth) == pytest.approx(2 / 3)
    assert M.recall(pred, truth) == pytest.approx(2 / 3)
    assert M.precision(np.zeros(3), np.ones(3)) == 0.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=30),
       st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_auc_matches_sklearn_with_ties(a, b):
    a, b = np.array(a, float), np.array(b, float)
    truth = np.r_[np.ones(a.size), np.zeros(b.size)]
    assert M.roc_auc(a, b) == pytest.approx(roc_auc_score(truth, np.r_[a, b]))


def test_roc_and_tpr_at_fpr_match_sklearn():
    r = np.random.default_rng(0)
    a, b = r.normal(1, 1, 300), r.normal(0, 1, 3000)
    roc = M.roc_curve(a, b)
    fpr, tpr, _ = sk_roc(np.r_[np.ones(300), np.zeros(3000)], np.r_[a, b],
                         drop_intermediate=False)
    np.testing.assert_allclose(np.interp(0.01, roc.fpr, roc.tpr, right=1),
                               np.interp(0.01, fpr, tpr), atol=1e-9)
    want = max(t for f, t in zip(fpr, tpr) if f <= 1e-3)
    assert M.tpr_at_fpr(a, b, 1e-3) == pytest.approx(want)
    assert M.attacker_advantage(a, b) == pytest.approx(np.max(tpr - fpr))


def test_membership_report_of_a_perfect_and_a_blind_attack():
    rep = M.membership_report(np.ones(50) * 2, np.zeros(500))
    assert rep["auc"] == 1.0 and rep["tpr_at_0.1%_fpr"] == 1.0 and rep["precision"] == 1.0
    r = np.random.default_rng(1)
    blind = M.membership_report(r.normal(size=2000), r.normal(size=2000))
    assert abs(blind["auc"] - 0.5) < 0.05


def test_fidelity_and_ece():
    assert M.fidelity([1, 2, 3], [1, 2, 0]) == pytest.approx(2 / 3)
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], np.float32)
    # Bins: 0.9 (right), 0.8 (right), 0.7 (wrong) -> |1-.9|/3 + |1-.8|/3 + |0-.7|/3.
    assert M.expected_calibration_error(probs, np.array([0, 0, 0])) == pytest.approx(
        (0.1 + 0.2 + 0.7) / 3, abs=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: M.accuracy([1, 2], [1]), "same shape"),
    (lambda: M.accuracy([], []), "non-empty"),
    (lambda: M.roc_auc([np.nan], [1.0]), "NaN"),
    (lambda: M.precision([2, 0], [1, 0]), "0/1"),
    (lambda: M.tpr_at_fpr([1.0], [0.0], 2.0), "fpr=2.0"),
    (lambda: M.expected_calibration_error(np.ones((2, 3)) / 3, [0, 3]), r"\[0, 2\]"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
