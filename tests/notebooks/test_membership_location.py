"""Executes notebooks/membership_location.ipynb at smoke size (needs JAXPRIV_DATA)."""

import pytest


@pytest.mark.requires_data
def test_membership_notebook_runs_at_smoke_size(data_dir, tmp_path, run_notebook, monkeypatch):
    monkeypatch.setenv("JAXPRIV_DATA", str(data_dir))
    text = run_notebook("membership_location.ipynb")
    assert "smoke = True" in text
    assert (tmp_path / "membership_lira_roc.png").exists()
