"""Runs benchmarks/bench_sweep.py --smoke --json and checks its record (no timing asserted)."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_sweep_smoke_writes_record(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sweep.py"), "--smoke",
                           "--json", str(out), "--out", str(tmp_path / "plot")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (rec,) = json.loads(out.read_text())
    assert rec["name"] == "sweep/mid_lambda" and rec["baseline"] == "sequential_jax"
    assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
    assert abs(rec["ratio"] - rec["baseline_seconds"] / rec["seconds"]) < 1e-9
    assert rec["max_param_diff_vs_sequential"] < 1e-3      # the same work, both ways
    assert len(rec["identification"]) == rec["settings"] == 4
    assert (tmp_path / "plot" / "privacy_utility.png").exists()
    assert "sweep/mid_lambda" in proc.stdout
