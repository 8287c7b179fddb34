"""The results table: one row per target x defense x attack, accumulated across runs.

``results.csv`` holds every run's rows; a run that is repeated or resumed
replaces its own rows (matched by its ``run`` fingerprint) instead of
duplicating them. ``results.md`` is the same table in Markdown.
"""

from __future__ import annotations

import csv
import io as _io
import math
import os
import pathlib
from typing import Any, Sequence

LEADING = ("run", "dataset", "model", "target", "defense", "family", "attack")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    return str(v)


def flat_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its list / dict entries (images, ROC points)."""
    return {k: v for k, v in row.items() if not isinstance(v, (list, dict, tuple))}


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols = [c for c in LEADING if any(c in r for r in rows)]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def read_table(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a results CSV (values as strings); ``[]`` when absent."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [dict(r) for r in csv.DictReader(f)]


def append_rows(path: str | os.PathLike, rows: Sequence[dict[str, Any]],
                run: str) -> list[dict[str, Any]]:
    """Adds a run's rows to the CSV at ``path``, replacing that run's old rows.

    Args:
      path: the CSV file (created with its folder).
      rows: the run's rows (list / dict values are dropped).
      run: the run's id; existing rows with this ``run`` are replaced.

    Returns:
      Every row now in the table.
    """
    path = pathlib.Path(path)
    old = [r for r in read_table(path) if r.get("run") != run]
    new = [{k: _cell(v) for k, v in flat_row(r).items()} for r in rows]
    for r in new:
        r["run"] = run
    table = old + new
    cols = columns(table)
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)
    return table


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v.replace("|", "\\|")
        if "." in v or "e" in v.lower():
            return f"{f:.4g}"
        return v
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return "" if v is None else str(v)


def rows_table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table with the union of the rows' scalar keys as columns."""
    rows = [flat_row(r) for r in rows]
    if not rows:
        return "_(no rows)_\n"
    cols = [c for c in columns(rows) if any(r.get(c) not in (None, "") for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines) + "\n"
