"""The step-based trainer: the Gram path of a wide first layer, and one key shared by K models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv.defenses import MIDHyper, StepConfig, make_mid_model, train_mid_many
from jaxpriv.defenses import _dpsgd, _mid, _trainer

N, D, CLASSES = 40, 300, 5        # more features than rows: the Gram path applies


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(N, D)).astype(np.float32)
    y = rng.integers(0, CLASSES, N).astype(np.int32)
    model = make_mid_model(num_features=D, num_classes=CLASSES, hidden=(16,), bottleneck=4)
    return x, y, model


def _close(a, b, rtol):
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        assert u.shape == v.shape
        scale = float(jnp.max(jnp.abs(u))) + 1e-12
        assert float(jnp.max(jnp.abs(u - v))) <= rtol * scale, (u.shape, rtol)


@pytest.mark.parametrize("optimizer,sampling,l2", [("sgd", "fixed", 0.05),
                                                   ("momentum", "fixed", 0.0),
                                                   ("momentum", "poisson", 0.05)])
def test_gram_path_trains_the_dense_model(problem, optimizer, sampling, l2):
    """W1 = c W1_0 + X^T A reproduces plain training on W1 up to float32 rounding.

    A short run: the two paths round differently, and over many steps a ReLU
    that flips on a rounding difference lets them drift apart (as two runs of
    the dense path with reordered sums would); a wrong update (a missed decay
    of W1_0, a row scattered to the wrong place) shows within a few steps.
    """
    x, y, model = problem
    keys = jax.random.split(jax.random.key(1), 3)
    hyper = MIDHyper(lam=jnp.array([0.0, 0.1, 1.0]), learning_rate=0.02, l2=l2)
    out = {}
    for first_layer in ("dense", "auto"):   # "auto" is the Gram path here (d > n)
        cfg = StepConfig(steps=12, batch_size=8, optimizer=optimizer, sampling=sampling,
                         first_layer=first_layer, steps_per_call=6)   # two calls
        out[first_layer] = train_mid_many(keys, model, x, y, cfg, hyper)
    _close(out["dense"][0], out["auto"][0], 2e-5)
    np.testing.assert_allclose(out["dense"][1], out["auto"][1], atol=2e-5)


def test_first_layer_choice():
    spec = _mid.mid_gram_spec(make_mid_model(num_features=8, num_classes=2, hidden=(4,)))
    assert spec.kernel_path == ("enc_0", "kernel")
    momentum = StepConfig(optimizer="momentum")
    assert momentum.use_gram(spec, n=10, d=100)
    assert not momentum.use_gram(spec, n=100, d=10)              # narrow input: dense
    assert not momentum.use_gram(None, n=10, d=100)              # no spec (e.g. DP-SGD)
    assert not StepConfig(optimizer="adam").use_gram(spec, n=10, d=100)
    assert not StepConfig(optimizer="sgd", first_layer="dense").use_gram(spec, n=10, d=100)
    assert StepConfig(optimizer="sgd", first_layer="gram").use_gram(spec, n=100, d=10)
    with pytest.raises(ValueError, match="optimizer"):
        StepConfig(optimizer="adam", first_layer="gram").use_gram(spec, n=10, d=100)
    with pytest.raises(ValueError, match="GramSpec"):
        StepConfig(optimizer="sgd", first_layer="gram").use_gram(None, n=10, d=100)
    with pytest.raises(ValueError, match="first_layer"):
        StepConfig(first_layer="sparse")


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_one_shared_key_equals_k_copies(problem, optimizer):
    """A single key gives every model what K copies of it give (drawn once)."""
    x, y, model = problem
    cfg = StepConfig(steps=20, batch_size=8, optimizer=optimizer, steps_per_call=20)
    hyper = _trainer.as_hyper(3, lam=[0.0, 0.1, 1.0], learning_rate=0.01, l2=0.0)
    key, data_key = jax.random.key(3), jax.random.key(4)
    args = (model.init, _mid.mid_grad_fn(model), x, y, cfg, hyper)
    kw = dict(gram=_mid.mid_gram_spec(model))
    shared = _trainer.train_many(key, data_key, *args, **kw)
    copies = _trainer.train_many(jnp.stack([key] * 3), data_key, *args, **kw)
    _close(shared[0], copies[0], 1e-5)
    np.testing.assert_allclose(shared[1], copies[1], atol=1e-5)
    with pytest.raises(ValueError, match="num_models"):
        _trainer.make_trainer(model.init, _mid.mid_grad_fn(model), cfg)[0](key, jnp.asarray(x))


def test_gram_path_compiles_once_per_shape(problem):
    x, y, model = problem
    cfg = StepConfig(steps=10, batch_size=8, optimizer="momentum", steps_per_call=10)
    keys = jax.random.split(jax.random.key(1), 2)
    train_mid_many(keys, model, x, y, cfg, MIDHyper(lam=jnp.array([0.0, 1.0])))
    run = _trainer._jitted(model.init, _mid.mid_grad_fn(model), cfg, _mid.mid_gram_spec(model))[1]
    before = run._cache_size()
    train_mid_many(keys, model, x, y, cfg, MIDHyper(lam=jnp.array([0.5, 2.0]), learning_rate=0.1))
    assert run._cache_size() == before == 1


def test_dp_sgd_keeps_the_dense_path(problem):
    """DP noise is not in the span of the rows: DP-SGD never takes the Gram path."""
    x, y, _ = problem
    from jaxpriv import models

    model = models.make_model("mlp", num_features=D, num_classes=CLASSES, hidden=(8,))
    cfg = _dpsgd.DPSGDConfig(steps=5, batch_size=8, optimizer="momentum", steps_per_call=5)
    params, loss = _dpsgd.dp_sgd_many(jax.random.split(jax.random.key(0), 2), model, x, y, cfg)
    assert jax.tree_util.tree_leaves(params)[0].shape[0] == 2 and loss.shape == (2, 5)
    assert bool(jnp.all(jnp.isfinite(loss)))


@pytest.mark.parametrize("first_layer", ["dense", "auto"])
def test_leading_per_model_equals_stacked(problem, first_layer):
    """``leading(per_model=True)`` gives model k exactly the stacked result's slice k."""
    x, y, model = problem
    cfg = StepConfig(steps=6, batch_size=8, optimizer="momentum", first_layer=first_layer)
    init, run, leading = _trainer.make_trainer(model.init, _mid.mid_grad_fn(model), cfg,
                                               _mid.mid_gram_spec(model))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    keys = jax.random.split(jax.random.key(2), 3)
    hyper = _trainer.as_hyper(3, lam=[0.0, 0.1, 1.0], learning_rate=0.02, l2=0.01)
    state, _ = run(init(keys, xj), keys, jax.random.key(5), hyper, xj, yj, 6)
    stacked = leading(state, xj)
    ones = jax.jit(lambda s, x: leading(s, x, per_model=True))(state, xj)
    assert len(ones) == 3
    for k, one in enumerate(ones):
        assert jax.tree_util.tree_structure(one) == jax.tree_util.tree_structure(stacked)
        for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(stacked)):
            assert a.shape == b.shape[1:]
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[k]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("optimizer,sampling,l2,shared", [("adam", "fixed", 0.05, False),
                                                          ("adam", "poisson", 0.0, True),
                                                          ("sgd", "fixed", 0.05, False)])
def test_dense_path_with_a_spec_trains_the_plain_dense_model(problem, optimizer, sampling, l2,
                                                             shared):
    """With a GramSpec but not the Gram path (Adam, or first_layer="dense"), the
    first layer's product and weight gradient are computed for all K models at
    once: the same models as the plain per-model gradient, up to float32 rounding."""
    x, y, model = problem
    cfg = StepConfig(steps=12, batch_size=8, optimizer=optimizer, sampling=sampling,
                     first_layer="dense", steps_per_call=6)
    hyper = _trainer.as_hyper(3, lam=[0.0, 0.1, 1.0], learning_rate=0.02, l2=l2)
    keys = jax.random.key(6) if shared else jax.random.split(jax.random.key(6), 3)
    args = (keys, jax.random.key(7), model.init, _mid.mid_grad_fn(model), x, y, cfg, hyper)
    plain = _trainer.train_many(*args)
    spec = _trainer.train_many(*args, gram=_mid.mid_gram_spec(model))
    _close(plain[0], spec[0], 2e-5)
    np.testing.assert_allclose(plain[1], spec[1], atol=2e-5)
