"""Markdown report of a results dictionary."""

from __future__ import annotations

import pathlib
from typing import Any


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def rows_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with the union of the rows' keys as columns."""
    if not rows:
        return "_(no rows)_\n"
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols and not isinstance(r[k], (dict, list)):
                cols.append(k)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(results: dict[str, Any], path: str | pathlib.Path) -> pathlib.Path:
    """Writes ``report.md``: data, targets, and one row per attack run."""
    path = pathlib.Path(path)
    ds = results["dataset"]
    out = [f"# jaxpriv audit: {ds['name']}", ""]
    out.append(f"{ds['rows']} rows, {ds['features']} features, {ds['classes']} classes; "
               f"{ds['members']} members (training set), {ds['nonmembers']} non-members, "
               f"{ds['test']} test rows.")
    out += ["", "## Targets", ""]
    out.append(rows_table([{"target": k, **v} for k, v in results["targets"].items()]))
    out.append(f"L2 convention: {results.get('l2_convention', '')}.")
    out += ["", "## Attacks", ""]
    out.append(rows_table(results.get("rows", [])))
    for img in results.get("images", []):
        out.append(f"![{img['title']}]({img['path']})")
    out.append(f"\nTotal time: {results.get('seconds', 0):.1f} s.")
    path.write_text("\n".join(out) + "\n")
    return path
