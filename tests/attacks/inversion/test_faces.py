"""Face evaluation helpers, the AT&T reproduction (needs JAXPRIV_DATA), suite and CLI."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import data, models, training
from jaxpriv.attacks import MIFaceConfig, mi_face
from jaxpriv.attacks.inversion import (contrast_stretch, face_scores, face_split,
                                       fit_identifier, standardize_images)


def test_image_helpers():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 64)).astype(np.float32)
    s = standardize_images(x * 0.1 + 2.0)
    np.testing.assert_allclose(s.mean(1), 0.0, atol=1e-5)
    np.testing.assert_allclose(s.std(1), 1.0, atol=1e-4)
    c = contrast_stretch(x * 0.01)
    np.testing.assert_allclose(c.min(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(c.max(1), 1.0, atol=1e-6)
    sc = face_scores(contrast_stretch(x), np.arange(3), contrast_stretch(x), np.arange(3), (8, 8))
    np.testing.assert_allclose(sc["mse"], 0.0, atol=1e-10)
    np.testing.assert_allclose(sc["ssim"], 1.0, atol=1e-6)


@pytest.mark.requires_data
def test_att_faces_softmax_all_40_in_one_call_identified(data_dir):
    ds = data.load("att_faces", data_dir)
    tr, ev = face_split(ds)
    m = models.make_model("softmax", num_features=ds.num_features, num_classes=40)
    params, _ = training.fit(jax.random.key(0), m, ds.x[tr], ds.y[tr],
                             training.TrainConfig(epochs=10, batch_size=32),
                             training.Hyper(learning_rate=3e-3))
    res = mi_face(jax.random.key(0), (m.apply, params), jnp.arange(40),
                  MIFaceConfig(num_features=ds.num_features, alpha=300, learning_rate=1.0,
                               process="none"))
    assert res.x.shape == (40, ds.num_features)
    ident = fit_identifier(jax.random.key(1), ds.x[ev], ds.y[ev], 40, epochs=30)
    rate = float(np.mean(ident.predict(res.x) == np.arange(40)))
    assert rate >= 0.5  # chance is 0.025


def test_inversion_family_in_the_audit(tmp_path):
    from jaxpriv.experiments import AuditContext
    from jaxpriv.experiments import suite_inversion
    from jaxpriv.oracles import parse_defense

    ds = data.load_digits()
    sp = data.split(jax.random.key(1), len(ds), n_members=500, n_nonmembers=300, n_test=300)
    m = models.make_model("softmax", num_features=64, num_classes=10)
    tc = training.TrainConfig(epochs=3)
    p, _ = training.fit(jax.random.key(2), m, ds.x[sp.members], ds.y[sp.members], tc,
                        training.Hyper(1e-2))
    ctx = AuditContext(key=jax.random.key(3), dataset=ds, split=sp, model=m, params=p,
                       defended_params=p, defenses=(parse_defense("label_only"),),
                       train_config=tc, hyper=None, out_dir=tmp_path, smoke=True,
                       progress=False)
    rows = suite_inversion.run(ctx)
    by = {(r["attack"], r["target"]): r for r in rows}
    assert by[("mi_face_whitebox", "undefended")]["identified_standardized"] >= 0.5
    assert by[("mi_face_blackbox", "undefended")]["queries"] > 0
    assert "label" in by[("mi_face_blackbox", "defended")]["error"]  # label-only oracle
    assert set(by[("mi_face_whitebox", "undefended")]) >= {"mse", "ssim", "identified_raw"}
    png = tmp_path / "inversion_mi_face.png"
    assert png.exists() and png.stat().st_size > 1000
    json.dumps(rows)


@pytest.mark.requires_data
def test_cli_invert_linear(data_dir, tmp_path):
    from jaxpriv import cli

    assert cli.main(["invert", "--attack", "linear", "--smoke", "--data-dir", str(data_dir),
                     "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "linear.json").read_text())
    assert {r["attack"] for r in res["rows"]} == {"map", "majority"}


def test_cli_invert_reports_missing_data(tmp_path):
    from jaxpriv import cli

    assert cli.main(["invert", "--attack", "tree", "--data-dir", str(tmp_path / "none"),
                     "--out", str(tmp_path)]) == 2  # a clear error, exit code 2
