"""Attack and utility metrics, computed on the host with NumPy.

Membership scores follow one convention: higher means "more likely a member".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from jaxpriv import _validate


def _binary(name: str, v: Any) -> np.ndarray:
    arr = _validate.array(name, v, ndim=1, dtype_kind="biuf")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"Expected {name} to hold only 0/1 values.")
    return arr.astype(bool)


def _pair(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = np.asarray(pred), np.asarray(truth)
    if p.shape != t.shape:
        raise ValueError(f"Expected predictions and truth with the same shape; got "
                         f"{p.shape} and {t.shape}.")
    if p.size == 0:
        raise ValueError("Expected non-empty predictions; got 0 rows.")
    return p, t


def accuracy(pred: Any, truth: Any) -> float:
    """Share of equal entries."""
    p, t = _pair(pred, truth)
    return float(np.mean(p == t))


def precision(pred: Any, truth: Any) -> float:
    """TP / (TP + FP) for binary predictions; 0 when nothing is predicted positive."""
    p, t = _pair(_binary("pred", pred), _binary("truth", truth))
    pos = p.sum()
    return float((p & t).sum() / pos) if pos else 0.0


def recall(pred: Any, truth: Any) -> float:
    """TP / (TP + FN); 0 when there are no positives."""
    p, t = _pair(_binary("pred", pred), _binary("truth", truth))
    pos = t.sum()
    return float((p & t).sum() / pos) if pos else 0.0


class Roc(NamedTuple):
    fpr: np.ndarray  # [m] increasing
    tpr: np.ndarray  # [m]
    thresholds: np.ndarray  # [m]; predict member when score >= threshold


def _scores(in_scores: Any, out_scores: Any) -> tuple[np.ndarray, np.ndarray]:
    a = _validate.array("in_scores", in_scores, ndim=1, dtype_kind="fiub", finite=False)
    b = _validate.array("out_scores", out_scores, ndim=1, dtype_kind="fiub", finite=False)
    if np.any(np.isnan(a)) or np.any(np.isnan(b)):
        raise ValueError("Expected scores without NaN.")
    return a.astype(np.float64), b.astype(np.float64)


def roc_curve(in_scores: Any, out_scores: Any) -> Roc:
    """ROC of the rule "member when score >= t" over all thresholds t.

    Args:
      in_scores: ``[n_in]`` scores of members.
      out_scores: ``[n_out]`` scores of non-members.
    """
    a, b = _scores(in_scores, out_scores)
    scores = np.concatenate([a, b])
    labels = np.concatenate([np.ones(a.size), np.zeros(b.size)])
    order = np.argsort(-scores, kind="stable")
    s, l = scores[order], labels[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], int)
    idx = np.concatenate([distinct, [s.size - 1]])
    tp = np.cumsum(l)[idx]
    fp = np.cumsum(1 - l)[idx]
    tpr = np.concatenate([[0.0], tp / a.size])
    fpr = np.concatenate([[0.0], fp / b.size])
    thr = np.concatenate([[np.inf], s[idx]])
    return Roc(fpr, tpr, thr)


def roc_auc(in_scores: Any, out_scores: Any) -> float:
    """Area under the ROC curve (ties count one half)."""
    a, b = _scores(in_scores, out_scores)
    scores = np.concatenate([a, b])
    ranks = _rankdata(scores)
    return float((ranks[: a.size].sum() - a.size * (a.size + 1) / 2) / (a.size * b.size))


def _rankdata(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def tpr_at_fpr(in_scores: Any, out_scores: Any, fpr: float) -> float:
    """Largest TPR among thresholds whose FPR is at most ``fpr``."""
    _validate.in_range("fpr", fpr, 0.0, 1.0)
    roc = roc_curve(in_scores, out_scores)
    ok = roc.fpr <= fpr + 1e-12
    return float(roc.tpr[ok].max())


def attacker_advantage(in_scores: Any, out_scores: Any) -> float:
    """max over thresholds of TPR - FPR (Yeom et al., CSF 2018)."""
    roc = roc_curve(in_scores, out_scores)
    return float(np.max(roc.tpr - roc.fpr))


def membership_report(in_scores: Any, out_scores: Any,
                      threshold: float | None = None) -> dict[str, float]:
    """AUC, advantage, TPR at 0.1% and 1% FPR, and accuracy/precision/recall of
    ``score >= threshold`` (default: the threshold of the best balanced accuracy)."""
    a, b = _scores(in_scores, out_scores)
    roc = roc_curve(a, b)
    if threshold is None:
        best = int(np.argmax(roc.tpr - roc.fpr))
        threshold = float(roc.thresholds[best])
    pred = np.concatenate([a >= threshold, b >= threshold])
    truth = np.concatenate([np.ones(a.size, bool), np.zeros(b.size, bool)])
    return {
        "auc": roc_auc(a, b),
        "advantage": float(np.max(roc.tpr - roc.fpr)),
        "tpr_at_0.1%_fpr": tpr_at_fpr(a, b, 1e-3),
        "tpr_at_1%_fpr": tpr_at_fpr(a, b, 1e-2),
        "accuracy": accuracy(pred, truth),
        "precision": precision(pred, truth),
        "recall": recall(pred, truth),
        "threshold": float(threshold),
        "n_in": int(a.size),
        "n_out": int(b.size),
    }


def fidelity(labels_a: Any, labels_b: Any) -> float:
    """Agreement of two models' labels on the same points (Tramèr et al. 2016:
    1 - R_test or 1 - R_unif, by which points are used)."""
    return accuracy(labels_a, labels_b)


def expected_calibration_error(probs: Any, labels: Any, num_bins: int = 15) -> float:
    """ECE with equal-width confidence bins (Guo et al., ICML 2017).

    Args:
      probs: ``[n, c]`` predicted probabilities.
      labels: ``[n]`` true labels.
    """
    p = _validate.array("probs", probs, ndim=2, dtype_kind="f")
    y = _validate.labels("labels", labels, p.shape[1], n=p.shape[0])
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    bins = np.clip((conf * num_bins).astype(int), 0, num_bins - 1)
    ece = 0.0
    for b in range(num_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)
