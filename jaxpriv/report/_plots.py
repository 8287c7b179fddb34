"""PNG plots for reports (matplotlib, no pyplot state, safe in threads and notebooks).

Attack families may use :func:`image_grid` and :func:`roc_plot` to draw into
``ctx.out_dir``; the run draws :func:`privacy_utility_plot` from the rows.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Mapping, Sequence

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

_CMAP = matplotlib.colormaps["tab20"]

# Metrics tried in order when a row does not name its "headline" metric; all
# read "higher is a stronger attack" and lie in [0, 1].
HEADLINE_METRICS = (
    "auc", "roc_auc", "attack_auc", "advantage", "attacker_advantage", "fidelity", "1-R_test",
    "agreement", "success_rate", "attack_success_rate", "attack_accuracy", "accuracy",
    "precision", "recall", "bit_accuracy", "ssim_mean", "ssim",
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
    """Attack strength against the target's test accuracy: one panel per attack
    family, one line per attack, a dotted line (labelled) per defence setting.

    Args:
      rows: result rows with ``target_test_accuracy``, ``family``, ``attack``,
        ``defense`` and a headline metric (see :func:`headline`).
      path: the PNG to write.

    Returns:
      ``path``, or ``None`` when no row has both numbers.
    """
    series: dict[str, dict[tuple, set]] = {}
    settings: dict[str, dict[float, set]] = {}
    for r in rows:
        u, h = _num(r.get("target_test_accuracy")), headline(r)
        if u is None or h is None:
            continue
        fam = str(r.get("family", ""))
        key = (str(r.get("attack", "")), h[0], str(r.get("dataset", "")),
               str(r.get("model", "")))
        series.setdefault(fam, {}).setdefault(key, set()).add((u, h[1]))
        settings.setdefault(fam, {}).setdefault(u, set()).add(str(r.get("defense", "")))
    if not series:
        return None
    fams = sorted(series)
    ncols = min(3, len(fams))
    nrows = math.ceil(len(fams) / ncols)
    fig = Figure(figsize=(5.2 * ncols, 4.2 * nrows))
    many_targets = len({k[2:] for f in series.values() for k in f}) > 1
    markers = "osD^v<>PX*h"
    for i, fam in enumerate(fams):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        colors = [_CMAP(j % 20) for j in range(20)]
        for j, (key, pts) in enumerate(sorted(series[fam].items())):
            pts = sorted(pts)
            label = f"{key[0]} ({key[1]})" + (f" {key[2]}/{key[3]}" if many_targets else "")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers[j % len(markers)],
                    color=colors[j % 20], label=label, alpha=0.9, ms=5)
        for u, names in sorted(settings[fam].items()):
            ax.axvline(u, color="0.6", ls=":", lw=0.8)
            ax.annotate(", ".join(sorted(names)), (u, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=6, va="top", ha="right", color="0.35")
        ax.set_title(fam, fontsize=10)
        ax.set_xlabel("target test accuracy (utility)", fontsize=8)
        ax.set_ylabel("attack metric (privacy risk)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=11)
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
