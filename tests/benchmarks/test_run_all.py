"""benchmarks/run.py: runs each bench script, gathers one JSON and a ratio table.

Cheap: two tiny stand-in benchmarks (and a broken one) in a temporary folder;
the real benchmarks have their own smoke tests.
"""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

BENCH = '''
import argparse, json
p = argparse.ArgumentParser()
p.add_argument("--smoke", action="store_true")
p.add_argument("--json")
a = p.parse_args()
recs = [{{"name": "{name}/case", "seconds": 0.5, "baseline": "{base}",
          "baseline_seconds": {bs}, "ratio": {bs} / 0.5, "smoke": a.smoke}}]
json.dump(recs, open(a.json, "w"))
'''


def _run(tmp_path, *extra):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--bench-dir",
         str(tmp_path), "--json", str(tmp_path / "out" / "all.json"), *extra],
        capture_output=True, text=True, timeout=600)


def test_run_all_aggregates_records_and_reports_failures(tmp_path):
    (tmp_path / "bench_alpha.py").write_text(BENCH.format(name="alpha", base="art", bs=5.0))
    (tmp_path / "bench_beta.py").write_text(BENCH.format(name="beta", base="sklearn", bs=2.0))
    (tmp_path / "bench_broken.py").write_text("raise SystemExit('no peer installed')\n")
    proc = _run(tmp_path)
    assert proc.returncode == 1  # one benchmark failed; the others still ran
    out = json.loads((tmp_path / "out" / "all.json").read_text())
    assert [r["name"] for r in out["records"]] == ["alpha/case", "beta/case"]
    assert all(r["smoke"] for r in out["records"])
    status = {b["script"]: b["status"] for b in out["benchmarks"]}
    assert status["bench_alpha.py"] == "ok" and status["bench_broken.py"].startswith("failed")
    md = (tmp_path / "out" / "all.md").read_text()
    assert "| alpha/case | 0.5 | art | 5 | 10.00x |" in md
    assert "| sklearn | 1 | 4.00x |" in md and "bench_broken.py: failed" in md

    proc = _run(tmp_path, "--only", "alpha")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads((tmp_path / "out" / "all.json").read_text())
    assert [r["name"] for r in out["records"]] == ["alpha/case"]
    assert _run(tmp_path, "--only", "gamma").returncode != 0


def test_collect_gathers_records_written_earlier(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{
        "name": "a/x", "seconds": 1.0, "baseline": "art", "baseline_seconds": 3.0, "ratio": 3.0}]))
    (tmp_path / "bad.json").write_text("[{}]")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--collect", str(tmp_path / "a.json"),
         str(tmp_path / "bad.json"), "--json", str(tmp_path / "all.json")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    out = json.loads((tmp_path / "all.json").read_text())
    assert [r["name"] for r in out["records"]] == ["a/x"]
    assert "| a/x | 1 | art | 3 | 3.00x |" in (tmp_path / "all.md").read_text()
