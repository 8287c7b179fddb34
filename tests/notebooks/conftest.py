"""Executing the paper notebooks at smoke size."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """``run_notebook("name.ipynb") -> text``: executes the notebook with
    ``JAXPRIV_SMOKE=1`` in ``tmp_path`` and returns its printed output."""
    monkeypatch.setenv("JAXPRIV_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def run(name: str) -> str:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=600,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                         for o in c.get("outputs", []))

    return run
