"""benchmarks/bench_dpsgd.py runs at smoke size and writes a well-formed record."""

import pytest


def test_bench_dpsgd_smoke(run_smoke):
    (rec,), _ = run_smoke("bench_dpsgd.py")
    assert rec["name"] == "dpsgd/digits_mlp" and rec["baseline"] == "per_example_jax"
    assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
    assert rec["ratio"] == pytest.approx(rec["baseline_seconds"] / rec["seconds"])
    assert rec["max_param_diff"] < 1e-4     # the same models from both gradients
    assert rec["models"] == 2 and rec["compile_seconds"] >= 0
