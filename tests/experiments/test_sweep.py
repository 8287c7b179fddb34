"""``jaxpriv sweep``: one program per grid, attacks per setting, resume, devices, processes."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxpriv.experiments import sweep

NUMERIC = ("train_accuracy", "test_accuracy", "test_ece", "inversion_identification",
           "inversion_confidence", "membership_auc", "membership_advantage")
ROOT = pathlib.Path(__file__).resolve().parents[2]


class _Stop(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def others(tmp_path_factory):
    """The same smoke sweep on 4 forced CPU devices and on two local processes,
    started first so that they run while the in-process reference computes."""
    base = tmp_path_factory.mktemp("sweep_others")
    port = _free_port()
    procs = {"four": [_run_cli(["--out", str(base / "four")],
                               {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})],
             "two": [_run_cli(["--out", str(base / "two"), "--coordinator",
                               f"127.0.0.1:{port}", "--num-processes", "2", "--process-id",
                               str(i)], {"XLA_FLAGS": ""}) for i in range(2)]}
    yield base, procs
    for p in procs["four"] + procs["two"]:   # not waited for when a test is deselected
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.fixture(scope="module")
def reference(others, tmp_path_factory):
    """A smoke MID sweep, interrupted after its first setting and resumed."""
    out = tmp_path_factory.mktemp("sweep_ref")
    cfg = sweep.smoke_config(chunk_size=2)
    seen = []

    def stop_after_first(row):
        seen.append(row["index"])
        raise _Stop

    with pytest.raises(_Stop):
        sweep.run_sweep(cfg, out, on_setting=stop_after_first)
    saved = sorted(p.name for p in (out / "settings").glob("setting_*.json"))
    assert seen == [0] and saved == ["setting_000.json"]
    res = sweep.run_sweep(cfg, out)
    return cfg, out, res


def _values(rows):
    return np.array([[r[k] for k in NUMERIC] for r in rows], np.float64)


def test_resume_computes_only_missing_settings(reference):
    cfg, out, res = reference
    assert res["computed"] == [1, 2, 3]
    assert [r["index"] for r in res["rows"]] == [0, 1, 2, 3]
    again = sweep.run_sweep(cfg, out)
    assert again["computed"] == []
    np.testing.assert_array_equal(_values(again["rows"]), _values(res["rows"]))
    for name in ("table.csv", "table.md", "privacy_utility.png", "results.json"):
        assert (out / name).exists()
    assert (out / "table.csv").read_text().startswith("lambda,")


def test_mid_lambda_lowers_inversion_and_accuracy(reference):
    _, _, res = reference
    rows = res["rows"]
    assert [r["value"] for r in rows] == [0.0, 0.01, 0.1, 1.0]
    assert rows[-1]["inversion_identification"] < rows[0]["inversion_identification"]
    assert rows[-1]["inversion_confidence"] < rows[0]["inversion_confidence"]
    assert rows[-1]["test_accuracy"] < rows[0]["test_accuracy"]
    assert all(0.0 <= r["membership_auc"] <= 1.0 for r in rows)


def test_round_sweep_trains_one_model_and_rounds_its_outputs(tmp_path):
    """Rounding only changes what the oracle releases: one model for every
    setting, black-box MI-Face through the rounding oracle (queries counted)."""
    cfg = sweep.smoke_config(defense="round", values=(0.0, 6.0), inversion_labels=4)
    res = sweep.run_sweep(cfg, tmp_path)
    coarse, fine = res["rows"]
    assert (coarse["parameter"], coarse["value"], fine["value"]) == ("decimals", 0.0, 6.0)
    # The same trained model: the unrounded test predictions agree.
    assert coarse["test_accuracy"] == fine["test_accuracy"]
    assert coarse["inversion_queries"] == fine["inversion_queries"] > 0
    # Rounded to integers, the confidences carry no gradient for the attack.
    assert fine["inversion_identification"] > coarse["inversion_identification"]
    assert fine["inversion_confidence"] > coarse["inversion_confidence"]
    assert (tmp_path / "table.csv").read_text().startswith("decimals,")


def _run_cli(args, env_extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", **env_extra)
    return subprocess.Popen([sys.executable, "-m", "jaxpriv.cli", "sweep", "--smoke", *args],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.cpu_only
def test_four_devices_and_two_processes_match_one_device(reference, others):
    _, _, res = reference
    base, procs = others
    for name, devices, processes in (("four", 4, 1), ("two", 2, 2)):
        outs = [p.communicate(timeout=600)[0] for p in procs[name]]
        assert all(p.returncode == 0 for p in procs[name]), outs
        got = json.loads((base / name / "results.json").read_text())
        assert got["devices"] == devices and got["processes"] == processes
        np.testing.assert_allclose(_values(got["rows"]), _values(res["rows"]), rtol=1e-5,
                                   atol=1e-6)


def test_config_validation():
    with pytest.raises(ValueError, match="defense"):
        sweep.SweepConfig(defense="dropout")
    with pytest.raises(ValueError, match="values"):
        sweep.SweepConfig(defense="dp", values=(0.0, 1.0))
    with pytest.raises(ValueError, match="integer"):
        sweep.SweepConfig(defense="round", values=(1.5,))
    with pytest.raises(ValueError, match="member_fraction"):
        sweep.SweepConfig(member_fraction=0.8, nonmember_fraction=0.3)
    with pytest.raises(ValueError, match="first_layer"):
        sweep.SweepConfig(first_layer="gram", optimizer="adam")
    with pytest.raises(ValueError, match="first_layer"):
        sweep.SweepConfig(defense="dp", values=(1.0,), first_layer="gram", optimizer="sgd")
    sweep.SweepConfig(first_layer="gram", optimizer="momentum")


def test_train_settings_chunks_and_bad_indices():
    problem = sweep._problem(sweep.smoke_config())
    out = sweep.train_settings(problem, np.array([2, 0, 1]))
    assert len(out) == 3
    steps = problem.step_config.steps
    assert all(loss.shape == (steps,) for _, loss in out)
    # One setting's parameters, in the order asked, equal to that setting trained alone.
    alone = sweep.train_settings(problem, np.array([0]))[0][0]
    for a, b in zip(jax.tree_util.tree_leaves(out[1][0]), jax.tree_util.tree_leaves(alone)):
        assert a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="idx"):
        sweep.train_settings(problem, np.array([], np.int64))
    with pytest.raises(ValueError, match="idx"):
        sweep.train_settings(problem, np.array([0, 99]))
    with pytest.raises(ValueError, match="idx"):
        sweep.train_settings(problem, np.array([[0, 1]]))
    with pytest.raises(ValueError, match="idx"):
        sweep.train_settings(problem, np.array([0.5]))


@pytest.mark.parametrize("optimizer,first_layer", [("adam", "auto"), ("momentum", "auto"),
                                                   ("sgd", "gram")])
def test_plain_gram_spec_trains_the_plain_model(optimizer, first_layer):
    """L2 / rounding sweeps of jaxpriv's MLP get a GramSpec: the Gram path (SGD,
    momentum) or the one-matmul first layer (Adam) train the models the plain
    per-model gradient trains, L2 included."""
    from jaxpriv.defenses import _trainer
    from jaxpriv.training import _wide

    rng = np.random.default_rng(3)
    x = rng.uniform(size=(30, 200)).astype(np.float32)       # d > n: the Gram path applies
    y = rng.integers(0, 4, 30).astype(np.int32)
    model = sweep.models.make_model("mlp", num_features=200, num_classes=4, hidden=(16,),
                                    activation="tanh")
    spec = sweep._plain_gram_spec(_wide.dense_stack(model))
    cfg = _trainer.StepConfig(steps=10, batch_size=8, optimizer=optimizer,
                              first_layer=first_layer, steps_per_call=10)
    hyper = _trainer.as_hyper(2, learning_rate=0.05, l2=[0.0, 0.1])
    keys = jax.random.split(jax.random.key(4), 2)
    args = (keys, jax.random.key(5), model.init, sweep._plain_grad_fn(model.apply), x, y, cfg,
            hyper)
    plain = _trainer.train_many(*args[:-2], _trainer.StepConfig(
        steps=10, batch_size=8, optimizer=optimizer, first_layer="dense", steps_per_call=10),
        hyper)
    fast = _trainer.train_many(*args, gram=spec)
    assert cfg.use_gram(spec, 30, 200) == (optimizer != "adam")
    for a, b in zip(jax.tree_util.tree_leaves(plain[0]), jax.tree_util.tree_leaves(fast[0])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(plain[1], fast[1], atol=2e-5)
