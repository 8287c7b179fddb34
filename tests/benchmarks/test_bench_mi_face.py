"""benchmarks/bench_mi_face.py runs at smoke size and writes well-formed records."""

import pytest


def test_bench_mi_face_smoke(run_smoke):
    pytest.importorskip("art")
    pytest.importorskip("torch")
    records, stdout = run_smoke("bench_mi_face.py")
    assert [r["name"] for r in records] == ["mi_face/softmax", "mi_face/mlp"]
    for r in records:
        assert r["baseline"] == "art"
        assert r["seconds"] > 0 and r["baseline_seconds"] > 0
        assert r["ratio"] == pytest.approx(r["baseline_seconds"] / r["seconds"])
        assert r["same_reconstructions"] and r["max_abs_diff_vs_art"] < 1e-3
        assert r["compile_seconds"] >= 0
        # The FLOPs MI-Face needs (2 alpha + 1 products per label and layer) and
        # what they imply: the share of the matmul probe, and ART's time over
        # theirs at 100% of the probe.
        widths = [r["features"], 10] if r["name"].endswith("softmax") else [r["features"], 32, 10]
        per = sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
        assert r["gflop"] * 1e9 == pytest.approx(r["labels"] * (2 * r["iterations"] + 1) * per)
        floor = r["gflop"] / r["matmul_gflops"]
        assert r["matmul_gflops"] == max(r["matmul_gflops_probes"]) > 0
        assert r["roofline_share"] == pytest.approx(floor / r["seconds"])
        assert r["ceiling_ratio"] == pytest.approx(r["baseline_seconds"] / floor)
    assert "ratio" in stdout and "at 100% the ratio would be" in stdout
