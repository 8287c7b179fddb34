"""PNG plots for reports (matplotlib, no pyplot state, safe in threads and notebooks).

Attack families may use :func:`image_grid` and :func:`roc_plot` to draw into
``ctx.out_dir``; the run draws :func:`privacy_utility_plot` from the rows.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

# Metrics tried in order when a row does not name its "headline" metric; all
# read "higher is a stronger attack" and lie in [0, 1].
HEADLINE_METRICS = (
    "auc", "roc_auc", "attack_auc", "advantage", "attacker_advantage", "fidelity",
    "agreement", "success_rate", "attack_success_rate", "attack_accuracy", "accuracy",
    "precision", "recall", "bit_accuracy",
)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def headline(row: Mapping[str, Any]) -> tuple[str, float] | None:
    """The metric a row is plotted by: ``row["headline"]`` if it names one, else
    the first of ``HEADLINE_METRICS`` present. ``None`` when there is none."""
    name = row.get("headline")
    if name and _num(row.get(name)) is not None:
        return str(name), _num(row[name])
    for m in HEADLINE_METRICS:
        if _num(row.get(m)) is not None:
            return m, _num(row[m])
    return None


def _save(fig: Figure, path: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return path


def privacy_utility_plot(rows: Sequence[Mapping[str, Any]], path: str | pathlib.Path,
                         *, title: str = "Privacy-utility trade-off") -> pathlib.Path | None:
    """Attack strength against the target's test accuracy, one line per attack.

    Args:
      rows: result rows with ``target_test_accuracy``, ``family``, ``attack``,
        ``defense`` and a headline metric (see :func:`headline`).
      path: the PNG to write.

    Returns:
      ``path``, or ``None`` when no row has both numbers.
    """
    series: dict[tuple, list[tuple[float, float, str]]] = {}
    for r in rows:
        u, h = _num(r.get("target_test_accuracy")), headline(r)
        if u is None or h is None:
            continue
        key = (str(r.get("dataset", "")), str(r.get("model", "")), str(r.get("family", "")),
               str(r.get("attack", "")), h[0])
        series.setdefault(key, []).append((u, h[1], str(r.get("defense", ""))))
    if not series:
        return None
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot()
    markers = "osD^v<>PX*"
    for j, (key, pts) in enumerate(sorted(series.items())):
        pts = sorted(set(pts))
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        label = f"{key[2]}/{key[3]} ({key[4]})"
        if len({k[0] for k in series}) > 1 or len({k[1] for k in series}) > 1:
            label = f"{key[0]}/{key[1]} " + label
        ax.plot(xs, ys, marker=markers[j % len(markers)], label=label, alpha=0.85)
        for x, y, d in pts:
            ax.annotate(d, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("target test accuracy (utility)")
    ax.set_ylabel("attack metric (privacy risk)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)


def roc_plot(curves: Sequence[tuple[str, Any, Any]], path: str | pathlib.Path, *,
             title: str = "ROC (log-log)", min_fpr: float = 1e-4) -> pathlib.Path:
    """Log-log ROC curves, the view that shows TPR at low FPR (Carlini et al., S&P 2022).

    Args:
      curves: ``(label, fpr[m], tpr[m])`` triples.
      path: the PNG to write.
      min_fpr: the left end of the x axis.
    """
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    lo = min_fpr
    for label, fpr, tpr in curves:
        fpr, tpr = np.asarray(fpr, float), np.asarray(tpr, float)
        if fpr.size:
            ax.plot(np.maximum(fpr, min_fpr), np.maximum(tpr, min_fpr), label=label)
    grid = np.logspace(math.log10(lo), 0, 50)
    ax.plot(grid, grid, "k--", lw=0.8, label="chance")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1.05)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def image_grid(path: str | pathlib.Path, rows: Sequence[tuple[str, Any]], *,
               col_titles: Sequence[str] | None = None, title: str = "",
               cmap: str = "gray") -> pathlib.Path:
    """A grid of images, one labelled row per group (e.g. originals above
    reconstructions).

    Args:
      path: the PNG to write.
      rows: ``(label, images[n, h, w])`` pairs, all with the same ``n``.
      col_titles: optional ``n`` column titles (e.g. the class of each image).
      title: figure title.
    """
    n = max(int(np.shape(imgs)[0]) for _, imgs in rows)
    fig = Figure(figsize=(1.1 * n + 1.0, 1.2 * len(rows) + 0.4))
    for i, (label, imgs) in enumerate(rows):
        imgs = np.asarray(imgs, float)
        for j in range(n):
            ax = fig.add_subplot(len(rows), n, i * n + j + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j < imgs.shape[0]:
                ax.imshow(imgs[j], cmap=cmap)
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
            if i == 0 and col_titles is not None and j < len(col_titles):
                ax.set_title(str(col_titles[j]), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
