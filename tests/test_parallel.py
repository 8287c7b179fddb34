"""Host-thread chunks (jaxpriv._parallel) and the trainers that use them."""

import threading

import jax
import numpy as np
import pytest

from jaxpriv import _parallel, data, models, training
from jaxpriv.attacks import membership as mia

_DS = data.load_digits()
X, Y = np.asarray(_DS.x[:600]), np.asarray(_DS.y[:600])
MLP = models.make_model("mlp", num_features=64, num_classes=10, hidden=(16,), activation="tanh")
CFG = training.TrainConfig(epochs=3, batch_size=64)
HYPER = training.Hyper(learning_rate=3e-3)


def _same(a, b):
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=1e-6)


@pytest.mark.cpu_only
def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("JAXPRIV_HOST_THREADS", "3")
    assert _parallel.host_threads() == 3
    monkeypatch.setenv("JAXPRIV_HOST_THREADS", "1")
    assert _parallel.host_threads() == 1
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("JAXPRIV_HOST_THREADS", bad)
        with pytest.raises(ValueError, match="JAXPRIV_HOST_THREADS"):
            _parallel.host_threads()
    monkeypatch.delenv("JAXPRIV_HOST_THREADS")
    assert 1 <= _parallel.host_threads() <= 4


def test_split_and_map_chunks_keep_order_and_errors():
    assert _parallel.split(32, 2) == 16
    assert _parallel.split(5, 2) == 3
    assert _parallel.split(1, 4) == 1
    assert _parallel.split(32, 1) == 32
    assert _parallel.split(32, 2, multiple=6) == 18
    seen = []

    def work(i):
        seen.append(threading.current_thread().name)
        assert _parallel.host_threads() == 1  # no nested splitting inside a chunk
        return i * i

    assert _parallel.map_chunks(work, range(7), 3) == [i * i for i in range(7)]
    assert any(name.startswith("jaxpriv") for name in seen)

    def boom(i):
        if i == 2:
            raise RuntimeError("chunk 2 failed")
        return i

    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        _parallel.map_chunks(boom, range(4), 2)


@pytest.mark.parametrize("masked", [False, True])
def test_fit_many_on_threads_equals_one_call(masked, monkeypatch):
    keys = jax.random.split(jax.random.key(3), 5)  # 3 + 2 models: the last chunk is padded
    masks = (np.random.default_rng(1).random((5, X.shape[0])) < 0.5) if masked else None
    monkeypatch.setenv("JAXPRIV_HOST_THREADS", "1")
    one, h1 = training.fit_many(keys, MLP, X, Y, CFG, HYPER, masks=masks)
    monkeypatch.setenv("JAXPRIV_HOST_THREADS", "2")
    two, h2 = training.fit_many(keys, MLP, X, Y, CFG, HYPER, masks=masks)
    _same(one, two)
    np.testing.assert_allclose(np.asarray(h1.loss), np.asarray(h2.loss), rtol=1e-5)


def test_attack_models_on_threads_equal_one_call(monkeypatch):
    rng = np.random.default_rng(0)
    c = 5
    labels = rng.integers(0, c, 400).astype(np.int32)
    labels[:3] = 4  # class 4 is small, the others larger: chunks mix the sizes
    labels[3:][labels[3:] == 4] = 0
    feats = rng.dirichlet(np.ones(c), 400).astype(np.float32)
    member = rng.integers(0, 2, 400).astype(np.int32)
    aset = mia.AttackSet(feats, labels, member)
    shadow = mia.ShadowConfig(model=models.make_model("mlp", num_features=c, num_classes=c,
                                                      hidden=(8,)), num_shadows=2)
    cfg = mia.ShokriConfig(shadow=shadow, attack_epochs=3, attack_batch_size=32)
    out = {}
    for n in ("1", "2", "3"):  # 5 classes: one chunk, 3 + 2 (padded), 2 + 2 + 1 (padded)
        monkeypatch.setenv("JAXPRIV_HOST_THREADS", n)
        out[n] = mia.train_attack_models(jax.random.key(7), aset, c, cfg)
    _same(out["1"], out["2"])
    _same(out["1"], out["3"])
    assert out["1"].train_accuracy.shape == (c,)


@pytest.mark.parametrize("shared_key", [False, True])
def test_step_trainer_on_threads_equals_one_call(shared_key, monkeypatch):
    """MID models (the Gram path) on host-thread chunks: 5 models as 3 + 2 (padded)."""
    from jaxpriv.defenses import _mid, _trainer

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(30, 200)).astype(np.float32)
    y = rng.integers(0, 4, 30).astype(np.int32)
    model = _mid.make_mid_model(num_features=200, num_classes=4, hidden=(8,), bottleneck=3)
    cfg = _trainer.StepConfig(steps=15, batch_size=8, optimizer="momentum", steps_per_call=10)
    hyper = _trainer.as_hyper(5, lam=[0.0, 0.01, 0.1, 1.0, 3.0], learning_rate=0.05, l2=0.0)
    key = jax.random.key(3)
    keys = key if shared_key else jax.random.split(key, 5)
    args = (keys, jax.random.key(4), model.init, _mid.mid_grad_fn(model), x, y, cfg, hyper)
    out = {}
    for n in ("1", "2"):
        monkeypatch.setenv("JAXPRIV_HOST_THREADS", n)
        out[n] = _trainer.train_many(*args, gram=_mid.mid_gram_spec(model))
    assert out["2"][1].shape == (5, 15)
    _same(out["1"], out["2"])


def test_padded_chunks_trim_and_concat():
    chunks = _parallel.padded_chunks(5, 2)
    assert [c.tolist() for c, _ in chunks] == [[0, 1], [2, 3], [4, 4]]
    assert [live for _, live in chunks] == [2, 2, 1]
    tree = {"a": jax.numpy.arange(4.0)}
    assert _parallel.trim(tree, 4)["a"] is tree["a"]
    assert _parallel.trim(tree, 3)["a"].tolist() == [0.0, 1.0, 2.0]
    whole = _parallel.concat([_parallel.trim(tree, 1), tree])
    assert whole["a"].tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]
    assert _parallel.concat([tree]) is tree
