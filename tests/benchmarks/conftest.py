"""The smoke run every benchmark test makes: the script with ``--smoke --json``."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def run_smoke(tmp_path):
    """``run_smoke("bench_X.py", *extra, timeout=300) -> (records, stdout)``:
    runs ``benchmarks/bench_X.py --smoke --json TMP`` from the repository root
    and fails the test with the script's output when it exits non-zero."""

    def run(script: str, *extra: str, timeout: float = 300):
        out = tmp_path / "records.json"
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke",
                               "--json", str(out), *extra],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return json.loads(out.read_text()), proc.stdout

    return run
