"""bench_evasion.py --smoke writes well-formed records for every attack and baseline."""

import pytest

pytest.importorskip("art")
pytest.importorskip("torch")


def test_bench_evasion_smoke_writes_records(run_smoke):
    records, stdout = run_smoke("bench_evasion.py")
    names = {(r["name"], r["baseline"]) for r in records}
    for attack in ("fgsm", "pgd_linf", "pgd_l2", "cw_l2"):
        assert (f"evasion/{attack}", "numpy_loop") in names
        assert (f"evasion/{attack}", "art") in names
    for r in records:
        assert r["seconds"] > 0 and r["baseline_seconds"] > 0
        assert r["ratio"] == pytest.approx(r["baseline_seconds"] / r["seconds"])
        assert 0.0 <= r["success_rate"] <= 1.0 and r["items"] > 0
        assert r["compile_seconds"] >= 0
    assert "ratio" in stdout and "evasion/cw_l2" in stdout
