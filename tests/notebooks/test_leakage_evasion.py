"""Executes notebooks/leakage_evasion.ipynb at smoke size (digits only: no data needed)."""

import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "leakage_evasion.ipynb"


def test_leakage_evasion_notebook_runs_at_smoke_size(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXPRIV_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    for needle in ("sign encoding:", "correlated value:", "capacity abuse: N=",
                   "PGD L-inf eps 0.1:", "Carlini-Wagner L2: targeted success"):
        assert needle in text
