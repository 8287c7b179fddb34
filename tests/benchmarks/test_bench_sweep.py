"""Runs benchmarks/bench_sweep.py --smoke --json and checks its record (no timing asserted)."""


def test_bench_sweep_smoke_writes_record(run_smoke, tmp_path):
    (rec,), stdout = run_smoke("bench_sweep.py", "--out", str(tmp_path / "plot"))
    assert rec["name"] == "sweep/mid_lambda" and rec["baseline"] == "sequential_jax"
    assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
    assert abs(rec["ratio"] - rec["baseline_seconds"] / rec["seconds"]) < 1e-9
    assert rec["max_param_diff_vs_sequential"] < 1e-3      # the same work, both ways
    assert len(rec["identification"]) == rec["settings"] == 4
    assert (tmp_path / "plot" / "privacy_utility.png").exists()
    assert "sweep/mid_lambda" in stdout
