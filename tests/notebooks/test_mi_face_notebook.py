"""Executes notebooks/mi_face.ipynb at smoke size (needs JAXPRIV_DATA)."""

import pytest


@pytest.mark.requires_data
def test_mi_face_notebook_runs_at_smoke_size(data_dir, tmp_path, run_notebook, monkeypatch):
    monkeypatch.setenv("JAXPRIV_DATA", str(data_dir))
    text = run_notebook("mi_face.ipynb")
    assert "smoke = True" in text
    assert (tmp_path / "mi_face_grid.png").exists()
