"""Shared by the notebooks' generator scripts (``*_make.py``): a list of
``(kind, source)`` cells, ``kind`` ``"md"`` or ``"code"``, as a notebook."""

from __future__ import annotations

import pathlib

import nbformat


def build(cells) -> nbformat.NotebookNode:
    """The notebook of ``cells`` (a Python 3 kernel)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src) for kind, src in cells]
    return nb


def write(nb: nbformat.NotebookNode, script: str, name: str) -> pathlib.Path:
    """Writes ``nb`` as ``name`` next to ``script`` and says where."""
    out = pathlib.Path(script).with_name(name)
    nbformat.write(nb, out)
    print("wrote", out)
    return out
