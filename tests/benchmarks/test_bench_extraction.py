"""Runs benchmarks/bench_extraction.py --smoke and checks its records (no timing here)."""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_extraction.py"


def test_bench_extraction_smoke(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out)], check=True,
                   timeout=300)
    recs = json.loads(out.read_text())
    assert {r["name"] for r in recs} == {"extraction/cg_softmax_synthetic"}
    for r in recs:
        assert r["baseline"] == "scipy" and r["seconds"] > 0 and r["baseline_seconds"] > 0
        assert abs(r["ratio"] - r["baseline_seconds"] / r["seconds"]) < 1e-9 * r["ratio"]
        assert r["fidelity_test"] >= 0.999 and r["fidelity_unif"] >= 0.999
        assert r["compile_seconds"] >= 0
