"""Executes notebooks/extraction.ipynb at smoke size (digits parts run without data)."""

import os


def test_extraction_notebook_runs_at_smoke_size(tmp_path, run_notebook):
    text = run_notebook("extraction.ipynb")
    assert "smoke = True" in text
    assert "German Credit" in text
    if os.environ.get("JAXPRIV_DATA"):
        assert (tmp_path / "extraction_faces_mi_face.png").exists()
