import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxpriv.attacks import membership as mia


@pytest.mark.parametrize("sampling", mia.SAMPLINGS)
def test_masks_are_disjoint_and_sized(sampling):
    in_m, out_m = mia.shadow_masks(jax.random.key(0), 100, num_shadows=4, sampling=sampling,
                                   n_train=10)
    assert in_m.shape == out_m.shape == (4, 100)
    assert not np.any(in_m & out_m)
    if sampling == "disjoint":
        assert np.all(in_m.sum(1) == 10) and np.all(out_m.sum(1) == 10)
        assert np.all((in_m | out_m).sum(0) <= 1)  # each row belongs to one model at most
    elif sampling == "overlapping":
        assert np.all(in_m.sum(1) == 10) and np.all(out_m.sum(1) == 10)
    else:
        assert np.all(in_m.sum(0) == 2)  # every row is in exactly half the models
        assert np.all(out_m == ~in_m)


def test_masks_reject_bad_sizes():
    with pytest.raises(ValueError, match="2 \\* n_train \\* num_shadows <= n"):
        mia.shadow_masks(jax.random.key(0), 100, num_shadows=8, sampling="disjoint", n_train=10)
    with pytest.raises(ValueError, match="Unknown sampling='random'"):
        mia.shadow_masks(jax.random.key(0), 100, num_shadows=2, sampling="random")


def test_config_validation(toy):
    with pytest.raises(ValueError, match="num_shadows"):
        mia.ShadowConfig(model=toy.model, num_shadows=0)
    with pytest.raises(ValueError, match="jaxpriv.models.Model"):
        mia.ShadowConfig(model=(toy.model.init, toy.model.apply))


def test_shadows_fit_their_members_better(toy):
    sh = toy.shadows
    assert jax.tree_util.tree_leaves(sh.params)[0].shape[0] == 2
    xs, ys = toy.x[toy.pool], toy.y[toy.pool]
    acc_in, acc_out = [], []
    probs = np.asarray(mia.shadow_outputs(jax.random.key(0), sh, toy.model.apply, xs))
    correct = probs.argmax(-1) == ys[None]
    for k in range(2):
        acc_in.append(correct[k][sh.in_mask[k]].mean())
        acc_out.append(correct[k][sh.out_mask[k]].mean())
    assert min(acc_in) > 0.95
    assert max(acc_out) < min(acc_in) - 0.15


_TINY = textwrap.dedent("""
    import json, jax, numpy as np
    from jaxpriv import models, training
    from jaxpriv.attacks import membership as mia
    x = np.asarray(jax.random.bernoulli(jax.random.key(0), 0.5, (64, 6)), np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    m = models.make_model("mlp", num_features=6, num_classes=2, hidden=(4,))
    cfg = mia.ShadowConfig(model=m, num_shadows=3, sampling="overlapping", n_train=16,
                           train=training.TrainConfig(epochs=2, batch_size=16))
    sh = mia.train_shadows(jax.random.key(1), x, y, cfg)
    leaves = jax.tree_util.tree_leaves(sh.params)
    devices = len(leaves[0].sharding.device_set)
    print(json.dumps({"devices": devices, "leaves": [np.asarray(l).tolist() for l in leaves],
                      "in_mask": sh.in_mask.tolist()}))
""")


def _tiny(env=None):
    r = subprocess.run([sys.executable, "-c", _TINY], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_sharded_over_four_host_devices_matches_one_device():
    """With 4 (CPU) devices the model axis (K=3, padded to 4) is sharded over
    them, and the models equal those trained in this process on one device."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    sharded = _tiny(env)
    scope = {}
    exec(_TINY.replace("print(json.dumps(", "out = ((").replace(
        '"in_mask": sh.in_mask.tolist()}))', '"in_mask": sh.in_mask.tolist()}))'), scope)
    local = scope["out"]
    assert sharded["devices"] == 4 and local["devices"] == 1
    assert sharded["in_mask"] == local["in_mask"]
    for a, b in zip(sharded["leaves"], local["leaves"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
