"""Runs benchmarks/bench_shadow.py at smoke size and checks its records (no timing asserts)."""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_shadow.py"


def test_bench_shadow_smoke(tmp_path):
    out = tmp_path / "shadow.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    records = json.loads(out.read_text())
    names = [rec["name"] for rec in records]
    assert names == ["shadow/pipeline", "shadow/training", "shadow/training_vs_sequential",
                     "lira/scoring"]
    for rec in records:
        assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
        assert rec["ratio"] == rec["baseline_seconds"] / rec["seconds"]
        assert rec["baseline"] in ("art", "sequential_jax", "numpy_loop")
        assert rec["host_peak_mb"] > 0
    lira = records[-1]
    assert lira["max_abs_diff"] < 1e-2
    assert "ratio" in r.stdout
