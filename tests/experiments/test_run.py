"""`jaxpriv run`: outputs, report pictures, the cross-run table, resume after a kill."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import matplotlib.image
import pytest

from jaxpriv.experiments import load_config, run_audit
from jaxpriv.report import read_table

HERE = pathlib.Path(__file__).resolve().parent
CONFIG = """
families = ["fast", "slow", "broken"]
[extra_families]
fast = "test_run_families:fast"
slow = "test_run_families:slow"
broken = "test_run_families:broken"
[smoke]
max_rows = 200
epochs = 1
hidden = [8]
progress = false
"""


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("JAXPRIV_TEST_LOG", str(log))
    monkeypatch.delenv("JAXPRIV_TEST_SLEEP", raising=False)
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG)
    return cfg, log


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


def _check_report_pictures(out):
    page = (out / "report.html").read_text()
    srcs = re.findall(r"<img src='([^']+)'", page)
    assert srcs, "the HTML report has no pictures"
    for src in srcs:
        img = matplotlib.image.imread(out / src)  # exists and decodes as PNG
        assert img.ndim == 3 and img.shape[0] > 10
    md = (out / "report.md").read_text()
    assert sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)) == sorted(srcs)
    return srcs


def test_unknown_family_module_fails_before_any_work(fake_env, tmp_path):
    cfg, _ = fake_env
    config = load_config(cfg, smoke=True, overrides={
        "families": ["gone"], "extra_families": {"gone": "no_such_module_xyz"}})
    with pytest.raises(ValueError, match="cannot import 'no_such_module_xyz'"):
        run_audit(config, tmp_path / "o")
    assert not (tmp_path / "o" / "results.json").exists()


def test_kill_half_way_resume_report(fake_env, tmp_path):
    """`jaxpriv run` killed (SIGINT) in its second family keeps the finished
    units; running again redoes neither the targets nor the finished family,
    and writes the results, the table and the report with its pictures."""
    cfg, log = fake_env
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")]), "JAXPRIV_TEST_SLEEP": "1"}
    cmd = [sys.executable, "-m", "jaxpriv.cli", "run", str(cfg), "--smoke", "--out", str(out)]
    # Test runners (e.g. pytest-xdist workers) may ignore SIGINT, and ignored
    # signals are inherited: give the child the default disposition back.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not any(c.startswith("slow-start") for c in _calls(log)):
        if proc.poll() is not None:
            pytest.fail(proc.stdout.read().decode())
        assert time.time() < deadline, "the run did not reach the slow family"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=600)[0].decode()
    assert proc.returncode == 130, output
    assert "interrupted" in output
    partial = json.loads((out / "results.json").read_text())
    assert partial["interrupted"] and not partial["complete"]
    assert [r["family"] for r in partial["rows"]] == ["fake", "fake"]
    assert "INTERRUPTED" in (out / "report.md").read_text()
    assert len(read_table(out / "results.csv")) == 2

    # The same run again (in this process, no sleeping): resumes; the broken
    # family is reported and the others still finish.
    config = load_config(cfg, smoke=True)
    res = run_audit(config, out)
    assert not res["complete"]
    assert res["errors"] == [{"unit": "broken [l2=0.01+round(1)]",
                              "error": "RuntimeError: this family is broken"}]
    assert {u["unit"]: u["resumed"] for u in res["units"]} == {
        "targets": True, "fast [l2=0.01+round(1)]": True, "slow [l2=0.01+round(1)]": False,
        "broken [l2=0.01+round(1)]": False}
    # slow started twice (killed, then redone); fast ran once.
    assert _calls(log) == ["fast l2=0.01+round(1)", "slow-start l2=0.01+round(1)",
                           "slow-start l2=0.01+round(1)", "slow-end l2=0.01+round(1)",
                           "broken l2=0.01+round(1)"]
    assert "this family is broken" in (out / "report.md").read_text()
    assert set(res["targets"]) == {"undefended", "l2=0.01+round(1)"}
    assert [(r["family"], r["target"], r["defense"]) for r in res["rows"]] == [
        ("fake", "undefended", "none"), ("fake", "defended", "l2=0.01+round(1)"),
        ("slow", "defended", "l2=0.01+round(1)")]
    for r in res["rows"]:
        assert r["run"] == config.fingerprint() and r["dataset"] == "digits"
        assert 0 <= r["target_test_accuracy"] <= 1
    assert json.loads((out / "results.json").read_text())["rows"][0]["auc"] == \
        res["rows"][0]["auc"]
    srcs = _check_report_pictures(out)
    assert "figures/privacy_utility.png" in srcs and "figures/roc_fake.png" in srcs
    assert any(s.endswith("examples.png") for s in srcs)
    assert "INTERRUPTED" not in (out / "report.md").read_text()

    # Once more: finished units resumed, the broken one retried, no duplicate rows.
    again = run_audit(config, out)
    assert [u["resumed"] for u in again["units"]] == [True, True, True, False]
    assert _calls(log)[5:] == ["broken l2=0.01+round(1)"]
    assert again["rows"] == res["rows"]
    assert len(read_table(out / "results.csv")) == 3
    assert "| fake | confidence |" in (out / "results.md").read_text()
