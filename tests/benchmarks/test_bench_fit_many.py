"""Runs benchmarks/bench_fit_many.py at smoke size and checks its JSON records (no timing)."""

import pytest


def test_bench_fit_many_smoke(run_smoke):
    records, stdout = run_smoke("bench_fit_many.py")
    names = {(rec["name"], rec["baseline"]) for rec in records}
    for case in ("fit_many/purchase", "fit_many/tiny"):
        for base in ("sequential_jax", "sklearn", "matmul_roofline"):
            assert (case, base) in names
    for rec in records:
        assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
        assert abs(rec["ratio"] - rec["baseline_seconds"] / rec["seconds"]) < 1e-9
        assert rec["compile_seconds"] >= 0
        assert 0 < rec["roofline_share"] and rec["matmul_gflops"] > 0
        assert rec["gflops"] * rec["seconds"] == pytest.approx(rec["gflop"])
        # fit_many, the sequential loop and scikit-learn all learned something.
        assert rec["train_accuracy"] > 0.1
    roof = [rec for rec in records if rec["baseline"] == "matmul_roofline"]
    assert all(abs(rec["ratio"] - rec["roofline_share"]) < 1e-9 for rec in roof)
    assert "ratio" in stdout  # the table was printed
