"""DP-SGD: accounting equals dp-accounting's, calibration, clipping, training, determinism."""

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import data, models, training
from jaxpriv.defenses import (DPHyper, DPSGDConfig, StepConfig, calibrate_noise_multiplier,
                              clip_and_sum, dp_epsilon, dp_event, dp_sgd_many,
                              run_epsilon, sample_batch)


@pytest.fixture(scope="module")
def digits():
    ds = data.load("digits")
    idx = np.asarray(jax.random.permutation(jax.random.key(0), len(ds)))
    return ds.x[idx[:600]], ds.y[idx[:600]], ds.x[idx[600:1000]], ds.y[idx[600:1000]]


@pytest.mark.parametrize("sampling,accountant", [("poisson", "rdp"), ("poisson", "pld"),
                                                 ("fixed", "rdp")])
def test_epsilon_equals_dp_accounting(sampling, accountant):
    n, b, steps, sigma, delta = 60000, 256, 300, 1.1, 1e-5
    gauss = dp_accounting.GaussianDpEvent(sigma)
    if sampling == "poisson":
        ev = dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(b / n, gauss), steps)
        rel = dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE
    else:
        ev = dp_accounting.SelfComposedDpEvent(
            dp_accounting.SampledWithoutReplacementDpEvent(n, b, gauss), steps)
        rel = dp_accounting.NeighboringRelation.REPLACE_ONE
    acc = (dp_accounting.rdp.RdpAccountant(neighboring_relation=rel) if accountant == "rdp"
           else dp_accounting.pld.PLDAccountant(neighboring_relation=rel))
    acc.compose(ev)
    expected = acc.get_epsilon(delta)
    got = dp_epsilon(noise_multiplier=sigma, steps=steps, num_examples=n, batch_size=b,
                     delta=delta, sampling=sampling, accountant=accountant)
    assert got == expected
    assert dp_event(noise_multiplier=sigma, steps=steps, num_examples=n, batch_size=b,
                    sampling=sampling) == ev
    cfg = DPSGDConfig(steps=steps, batch_size=b, sampling=sampling, accountant=accountant)
    assert run_epsilon(cfg, sigma, n, delta) == expected


@pytest.mark.parametrize("target", [0.5, 2.0, 8.0])
def test_calibration_within_one_percent(target):
    kw = dict(steps=1000, num_examples=10000, batch_size=100, delta=1e-5)
    sigma = calibrate_noise_multiplier(target_epsilon=target, **kw)
    eps = dp_epsilon(noise_multiplier=sigma, **kw)
    assert abs(eps - target) <= 0.01 * target
    # A bit less noise would overspend.
    assert dp_epsilon(noise_multiplier=sigma * 0.97, **kw) > target


def test_clip_and_sum_bounds_each_example():
    g = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]), "b": jnp.zeros((3, 1))}
    summed, norms = clip_and_sum(g, jnp.array([1.0, 1.0, 0.0]), jnp.float32(1.0))
    np.testing.assert_allclose(norms, [5.0, 0.5, 10.0], rtol=1e-6)
    # example 0 clipped to norm 1, example 1 unchanged, example 2 not in the batch.
    np.testing.assert_allclose(summed["w"], [0.6 + 0.3, 0.8 + 0.4], rtol=1e-6)
    jitted, _ = jax.jit(clip_and_sum)(g, jnp.array([1.0, 1.0, 0.0]), jnp.float32(1.0))
    np.testing.assert_allclose(jitted["w"], summed["w"], rtol=1e-6)   # jit == eager


def test_poisson_batches_have_rate_q():
    cfg = StepConfig(batch_size=50, sampling="poisson")
    sizes = jax.jit(jax.vmap(lambda k: sample_batch(k, 1000, cfg)[1].sum()))(
        jax.random.split(jax.random.key(1), 200))
    assert abs(float(sizes.mean()) - 50.0) < 2.0 and float(sizes.std()) > 3.0
    idx, w = sample_batch(jax.random.key(2), 1000, StepConfig(batch_size=50, sampling="fixed"))
    assert np.unique(np.asarray(idx)).size == 50 and float(w.sum()) == 50


@pytest.mark.parametrize("sampling", ["fixed", "poisson"])
def test_batch_rows_are_the_smallest_draws_in_order(sampling):
    # The rows a step computes are the first B of a stable argsort of its
    # uniform draws (the definition), whatever finds them; here with a
    # forced tie between two draws.
    n, cfg = 200, StepConfig(batch_size=32, sampling=sampling)
    b = cfg.rows_per_step(n)
    for seed in range(5):
        key = jax.random.key(seed)
        u = np.asarray(jax.random.uniform(key, (n,)))
        idx, w = sample_batch(key, n, cfg)
        np.testing.assert_array_equal(np.asarray(idx), np.argsort(u, kind="stable")[:b])
        want = np.ones(b) if sampling == "fixed" else (u[np.asarray(idx)] < 32 / n)
        np.testing.assert_array_equal(np.asarray(w), want.astype(np.float32))


def test_smallest_breaks_ties_like_a_stable_argsort():
    from jaxpriv.defenses._trainer import _smallest
    u = np.array([0.5, 0.25, 0.75, 0.25, 0.0, 0.25, 1.0, 0.0], np.float32)
    for b in (1, 3, 5, 8):
        np.testing.assert_array_equal(np.asarray(_smallest(jnp.asarray(u), b)),
                                      np.argsort(u, kind="stable")[:b])


def _counting_model(counter):
    base = models.make_model("mlp", num_features=64, num_classes=10, hidden=(32,))

    def apply(params, x):
        counter["n"] += 1
        return base.apply(params, x)

    return base._replace(apply=apply)


def test_dp_sgd_learns_noise_costs_accuracy_and_is_deterministic(digits):
    x, y, xt, yt = digits
    counter = {"n": 0}
    model = _counting_model(counter)
    cfg = DPSGDConfig(steps=150, batch_size=60, steps_per_call=150)
    keys = jax.random.split(jax.random.key(3), 3)
    hyper = DPHyper(noise_multiplier=jnp.array([0.5, 2.0, 200.0]), clip_norm=1.0,
                    learning_rate=1.0)
    params, loss = dp_sgd_many(keys, model, x, y, cfg, hyper)
    assert loss.shape == (3, 150)
    acc = training.accuracy_many(model.apply, params, xt, yt)
    assert acc[0] > 0.8 and acc[0] > acc[2] + 0.3
    traces = counter["n"]
    # Same key, same result; new noise values reuse the compiled program.
    params2, _ = dp_sgd_many(keys, model, x, y, cfg, hyper)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(params2)):
        np.testing.assert_array_equal(a, b)
    dp_sgd_many(keys, model, x, y, cfg, hyper._replace(noise_multiplier=jnp.array([1., 3., 9.])))
    assert counter["n"] == traces


def test_dp_sgd_rejects_bad_input(digits):
    x, y, _, _ = digits
    model = models.make_model("mlp", num_features=64, num_classes=10, hidden=(8,))
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(ValueError, match="y"):
        dp_sgd_many(keys, model, x, y + 10, DPSGDConfig(steps=1))
    with pytest.raises(ValueError, match="clip_norm"):
        dp_sgd_many(keys, model, x, y, DPSGDConfig(steps=1), DPHyper(clip_norm=-1.0))
    with pytest.raises(ValueError, match="noise_multiplier"):
        dp_sgd_many(keys, model, x, y, DPSGDConfig(steps=1),
                    DPHyper(noise_multiplier=jnp.ones(3)))
    with pytest.raises(ValueError, match="sampling"):
        DPSGDConfig(sampling="shuffle")
    with pytest.raises(ValueError, match="pld"):
        DPSGDConfig(sampling="fixed", accountant="pld")
    with pytest.raises(ValueError, match="batch_size"):
        dp_epsilon(noise_multiplier=1.0, steps=10, num_examples=10, batch_size=20, delta=1e-5)
    with pytest.raises(ValueError, match="delta"):
        dp_epsilon(noise_multiplier=1.0, steps=10, num_examples=100, batch_size=20, delta=0.0)


@pytest.mark.parametrize("name,hidden,activation,sampling", [
    ("softmax", (), "relu", "poisson"),
    ("mlp", (16,), "tanh", "poisson"),
    ("mlp", (12, 8), "relu", "fixed")])
def test_dense_dp_gradient_equals_the_per_example_one(digits, name, hidden, activation,
                                                      sampling):
    """The first kernel's clipped sum from per-example norms |x_i| |delta_i| (no
    per-example gradients of it) gives the models of plain vmap(grad) DP-SGD:
    same clipping, same noise."""
    from jaxpriv.defenses import _dpsgd, _trainer

    x, y, _, _ = digits
    kw = dict(hidden=hidden, activation=activation) if name == "mlp" else {}
    model = models.make_model(name, num_features=64, num_classes=10, **kw)
    fast = _dpsgd.dp_grad_fn_for(model)
    assert fast is not _dpsgd.dp_grad_fn(model.apply)
    cfg = DPSGDConfig(steps=15, batch_size=32, sampling=sampling, optimizer="momentum",
                      steps_per_call=15).step_config()
    # Small clip norm: most examples are clipped, so a wrong norm shows.
    hyper = _trainer.as_hyper(3, noise_multiplier=[0.0, 0.5, 2.0], clip_norm=[0.05, 0.3, 1.0],
                              learning_rate=0.1, l2=1e-3)
    keys = jax.random.split(jax.random.key(8), 3)
    runs = [_trainer.train_many(keys, jax.random.key(9), model.init, fn, x, y, cfg, hyper)
            for fn in (_dpsgd.dp_grad_fn(model.apply), fast)]
    for a, b in zip(jax.tree_util.tree_leaves(runs[0][0]), jax.tree_util.tree_leaves(runs[1][0])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-4, atol=1e-5)
