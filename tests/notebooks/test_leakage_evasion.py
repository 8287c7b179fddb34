"""Executes notebooks/leakage_evasion.ipynb at smoke size (digits only: no data needed)."""


def test_leakage_evasion_notebook_runs_at_smoke_size(tmp_path, run_notebook):
    text = run_notebook("leakage_evasion.ipynb")
    for needle in ("sign encoding:", "correlated value:", "capacity abuse: N=",
                   "PGD L-inf eps 0.1:", "Carlini-Wagner L2: targeted success"):
        assert needle in text
