"""Executes notebooks/mid_vs_dp.ipynb at smoke size (bundled digits; no shared data needed)."""

import json


def test_mid_vs_dp_notebook_runs_at_smoke_size(tmp_path, run_notebook):
    text = run_notebook("mid_vs_dp.ipynb")
    assert "smoke = True" in text
    assert "noise multiplier for epsilon = 8" in text
    assert (tmp_path / "results" / "mid_vs_dp_smoke" / "mid_vs_dp.png").exists()
    assert (tmp_path / "results" / "mid_vs_dp_smoke" / "mid" / "table.csv").exists()
    # The DP sweep reports epsilon from dp-accounting, falling as the noise grows.
    dp = json.loads((tmp_path / "results" / "mid_vs_dp_smoke" / "dp" / "results.json").read_text())
    eps = [r["epsilon"] for r in dp["rows"]]
    assert all(a > b > 0 for a, b in zip(eps, eps[1:]))
    assert (tmp_path / "results" / "mid_vs_dp_smoke" / "dp" / "table.csv").read_text().startswith(
        "noise_multiplier,epsilon,")
