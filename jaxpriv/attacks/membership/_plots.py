"""Log-log ROC curves of membership attacks (matplotlib PNG, host side).

Carlini et al. (S&P 2022, Section III-B) argue for ROC curves on log-log axes,
which show the low-FPR regime where an attack is confidently right.
"""

from __future__ import annotations

import pathlib
from typing import Any, Mapping

import numpy as np

from jaxpriv import metrics


def plot_roc(curves: Mapping[str, tuple[Any, Any]], path: str | pathlib.Path, *,
             title: str = "Membership inference ROC") -> pathlib.Path:
    """Writes a log-log ROC plot with one curve per attack.

    Args:
      curves: attack name -> ``(in_scores [n_in], out_scores [n_out])``.
      path: PNG file to write (parent folders are created).
      title: plot title.

    Returns:
      The path written.
    """
    if not curves:
        raise ValueError("Expected at least one curve in curves; got none.")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.8, 4.4), dpi=120)
    floor = 1.0
    for name, (a, b) in curves.items():
        roc = metrics.roc_curve(a, b)
        auc = metrics.roc_auc(a, b)
        low = metrics.tpr_at_fpr(a, b, 1e-3)
        floor = min(floor, 1.0 / max(np.size(b), 1))
        ax.plot(roc.fpr, roc.tpr, label=f"{name} (AUC {auc:.3f}, TPR@0.1% {low:.3f})", lw=1.4)
    lo = max(floor / 2, 1e-5)
    grid = np.logspace(np.log10(lo), 0, 50)
    ax.plot(grid, grid, "k--", lw=0.8, label="chance")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
