"""Executes notebooks/extraction.ipynb at smoke size (digits parts run without data)."""

import os
import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "extraction.ipynb"


def test_extraction_notebook_runs_at_smoke_size(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXPRIV_SMOKE", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "smoke = True" in text
    assert "German Credit" in text
    if os.environ.get("JAXPRIV_DATA"):
        assert (tmp_path / "extraction_faces_mi_face.png").exists()
