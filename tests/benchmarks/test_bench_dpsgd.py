"""benchmarks/bench_dpsgd.py runs at smoke size and writes a well-formed record."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_dpsgd_smoke(tmp_path):
    out = tmp_path / "dpsgd.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_dpsgd.py"),
                           "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    (rec,) = json.loads(out.read_text())
    assert rec["name"] == "dpsgd/digits_mlp" and rec["baseline"] == "per_example_jax"
    assert rec["seconds"] > 0 and rec["baseline_seconds"] > 0
    assert rec["ratio"] == pytest.approx(rec["baseline_seconds"] / rec["seconds"])
    assert rec["max_param_diff"] < 1e-4     # the same models from both gradients
    assert rec["models"] == 2 and rec["compile_seconds"] >= 0
