"""The run's report (Markdown and HTML) with its pictures, and the results table.

:func:`write_all` is what ``jaxpriv run`` calls after every run (also after an
interrupted one): it appends the rows to the cross-run table, draws the
privacy-utility plot and the log-log ROC curves, and writes ``report.md`` and
``report.html``. Both reports are built from one list of blocks, so they show
the same tables and pictures.
"""

from __future__ import annotations

import html
import os
import pathlib
from typing import Any

from jaxpriv.report import _plots, _table

Block = tuple  # ("h1"|"h2"|"h3"|"p", text) | ("table", rows) | ("img", title, rel_path)


def _roc_curves(rows: list[dict[str, Any]]) -> dict[str, list[tuple[str, Any, Any]]]:
    """Rows with ``roc = {"fpr": [...], "tpr": [...]}`` grouped by family."""
    out: dict[str, list] = {}
    for r in rows:
        roc = r.get("roc")
        if isinstance(roc, dict) and roc.get("fpr") and roc.get("tpr"):
            label = f"{r.get('attack')} [{r.get('defense', r.get('target'))}]"
            out.setdefault(str(r.get("family")), []).append((label, roc["fpr"], roc["tpr"]))
    return out


def _by_family(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(str(r.get("family", "")), []).append(r)
    return out


def _rel(path: pathlib.Path, out_dir: pathlib.Path) -> str:
    return os.path.relpath(path, out_dir)


def build_blocks(results: dict[str, Any], out_dir: str | os.PathLike,
                 table_rows: list[dict[str, Any]] | None = None,
                 table_path: str | os.PathLike | None = None) -> list[Block]:
    """The report's content; draws the plots into ``out_dir/figures``."""
    out_dir = pathlib.Path(out_dir)
    ds, cfg = results.get("dataset", {}), results.get("config", {})
    rows = results.get("rows", [])
    blocks: list[Block] = [("h1", f"jaxpriv audit: {ds.get('name', '?')}, "
                                  f"{cfg.get('model', '?')} target")]
    if results.get("complete"):
        state = "complete"
    elif results.get("interrupted"):
        state = "INTERRUPTED (partial results; run the same command to resume)"
    else:
        state = (f"INCOMPLETE: {len(results.get('errors', []))} unit(s) failed (see Errors; "
                 "the same command retries them)")
    blocks.append(("p", f"Run {results.get('run', '?')}, started {results.get('started', '?')}"
                        f", {state}; {results.get('seconds', 0):.1f} s."))
    if ds:
        blocks.append(("p", f"{ds['rows']} rows, {ds['features']} features, {ds['classes']} "
                            f"classes; {ds['members']} members (the target's training set), "
                            f"{ds['nonmembers']} non-members, {ds['test']} test rows."))
    if cfg:
        keep = ("dataset", "model", "hidden", "activation", "epochs", "batch_size",
                "learning_rate", "member_fraction", "nonmember_fraction", "seed", "smoke")
        blocks.append(("p", "Config: " + ", ".join(
            f"{k}={_table._fmt(cfg[k])}" for k in keep if k in cfg) + "."))
    blocks.append(("h2", "Targets"))
    blocks.append(("table", [{"target": k, **{kk: vv for kk, vv in v.items() if kk != "file"}}
                             for k, v in results.get("targets", {}).items()]))
    if results.get("l2_convention"):
        blocks.append(("p", f"L2 convention: {results['l2_convention']}."))
    blocks.append(("h2", "Attacks"))
    blocks.append(("p", "One row per target x defense x attack. Attack metrics: higher is a "
                        "stronger attack unless the name says otherwise."))
    for fam, fam_rows in _by_family(rows).items():
        blocks.append(("h3", fam))
        blocks.append(("table", [{k: v for k, v in r.items()
                                  if k not in ("run", "dataset", "model", "family")}
                                 for r in fam_rows]))
    if not rows:
        blocks.append(("table", []))
    fig_dir = out_dir / "figures"
    pu = _plots.privacy_utility_plot(table_rows if table_rows else rows,
                                     fig_dir / "privacy_utility.png")
    if pu is not None:
        blocks.append(("h2", "Privacy-utility"))
        blocks.append(("p", "Each attack's headline metric against the test accuracy of the "
                            "target it attacked, over every run in the results table."))
        blocks.append(("img", "Privacy-utility trade-off", _rel(pu, out_dir)))
    curves = _roc_curves(rows)
    if curves:
        blocks.append(("h2", "ROC curves (log-log)"))
        for fam, cs in sorted(curves.items()):
            p = _plots.roc_plot(cs, fig_dir / f"roc_{fam}.png", title=f"{fam}: ROC (log-log)")
            blocks.append(("img", f"{fam}: ROC", _rel(p, out_dir)))
    images = results.get("images", [])
    if images:
        blocks.append(("h2", "Pictures"))
        for fam in dict.fromkeys(im.get("family", "") for im in images):
            blocks.append(("p", f"**{fam}**"))
            for im in images:
                if im.get("family", "") == fam and (out_dir / im["path"]).exists():
                    blocks.append(("img", im.get("title", ""), im["path"]))
    if results.get("errors"):
        blocks.append(("h2", "Errors"))
        blocks.append(("table", results["errors"]))
    blocks.append(("h2", "Units"))
    blocks.append(("table", results.get("units", [])))
    if table_path is not None:
        blocks.append(("p", f"All runs: {_rel(pathlib.Path(table_path), out_dir)} "
                            f"({len(table_rows or [])} rows)."))
    return blocks


def render_markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if b[0] == "h1":
            out += [f"# {b[1]}", ""]
        elif b[0] == "h2":
            out += [f"## {b[1]}", ""]
        elif b[0] == "h3":
            out += [f"### {b[1]}", ""]
        elif b[0] == "p":
            out += [b[1], ""]
        elif b[0] == "table":
            out += [_table.rows_table(b[1])]
        elif b[0] == "img":
            out += [f"![{b[1]}]({b[2]})", ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}
td:nth-child(-n+3){text-align:left}figure{display:inline-block;margin:.6em;vertical-align:top}
figcaption{font-size:12px;color:#555}img{max-width:100%}"""


def _html_table(rows: list[dict[str, Any]]) -> str:
    rows = [_table.flat_row(r) for r in rows]
    if not rows:
        return "<p><em>(no rows)</em></p>"
    cols = [c for c in _table.columns(rows) if any(r.get(c) not in (None, "") for r in rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_table._fmt(r.get(c, '')))}</td>"
                                    for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(blocks: list[Block]) -> str:
    title = next((b[1] for b in blocks if b[0] == "h1"), "jaxpriv report")
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
           f"</title><style>{_CSS}</style></head><body>"]
    for b in blocks:
        if b[0] in ("h1", "h2", "h3"):
            out.append(f"<{b[0]}>{html.escape(b[1])}</{b[0]}>")
        elif b[0] == "p":
            text = html.escape(b[1])
            if text.startswith("**") and text.endswith("**"):
                text = f"<strong>{text[2:-2]}</strong>"
            out.append(f"<p>{text}</p>")
        elif b[0] == "table":
            out.append(_html_table(b[1]))
        elif b[0] == "img":
            out.append(f"<figure><img src='{html.escape(b[2], quote=True)}' "
                       f"alt='{html.escape(b[1], quote=True)}'><figcaption>"
                       f"{html.escape(b[1])}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def write_all(results: dict[str, Any], out_dir: str | os.PathLike, *,
              table: str | os.PathLike | None = None) -> dict[str, pathlib.Path]:
    """Appends the rows to the results table and writes both reports.

    Args:
      results: a ``run_audit`` results dictionary.
      out_dir: the run's folder; pictures are referenced relative to it.
      table: the cross-run CSV (default ``out_dir/results.csv``); a Markdown
        copy is written next to it (``.md``).

    Returns:
      ``{"csv", "table_md", "markdown", "html"}`` paths.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = pathlib.Path(table) if table else out_dir / "results.csv"
    all_rows = _table.append_rows(csv_path, results.get("rows", []), results.get("run", ""))
    md_table = csv_path.with_suffix(".md")
    md_table.write_text("# jaxpriv results (all runs)\n\n" + "\n".join(
        f"## {fam}\n\n" + _table.rows_table(fam_rows)
        for fam, fam_rows in _by_family(all_rows).items()))
    blocks = build_blocks(results, out_dir, all_rows, csv_path)
    md = out_dir / "report.md"
    md.write_text(render_markdown(blocks))
    page = out_dir / "report.html"
    page.write_text(render_html(blocks))
    return {"csv": csv_path, "table_md": md_table, "markdown": md, "html": page}


def write_markdown(results: dict[str, Any], path: str | os.PathLike) -> pathlib.Path:
    """Writes only the Markdown report of ``results`` to ``path``."""
    path = pathlib.Path(path)
    path.write_text(render_markdown(build_blocks(results, path.parent)))
    return path
