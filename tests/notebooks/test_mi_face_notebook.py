"""Executes notebooks/mi_face.ipynb at smoke size (needs JAXPRIV_DATA)."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "mi_face.ipynb"


@pytest.mark.requires_data
def test_mi_face_notebook_runs_at_smoke_size(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXPRIV_SMOKE", "1")
    monkeypatch.setenv("JAXPRIV_DATA", str(data_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "smoke = True" in text
    assert (tmp_path / "mi_face_grid.png").exists()
