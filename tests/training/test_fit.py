"""Tests for jaxpriv.training: fit, fit_many (shared and masked paths), the fast path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import data, models, training
from jaxpriv.training import _fit, _wide

# One data set, model and config for (almost) every test, so the compiled
# programs are shared across tests (fit_many caches them per shapes).
_DS = data.load_digits()
X_TRAIN, Y_TRAIN = np.asarray(_DS.x[:1200]), np.asarray(_DS.y[:1200])
X_TEST, Y_TEST = np.asarray(_DS.x[1200:]), np.asarray(_DS.y[1200:])
MLP = models.make_model("mlp", num_features=64, num_classes=10, hidden=(16,), activation="tanh")
CFG = training.TrainConfig(epochs=8, batch_size=64)
HYPER = training.Hyper(learning_rate=3e-3)
MASKS = np.random.default_rng(0).random((2, X_TRAIN.shape[0])) < 0.4  # [K=2, n]


def _keys(k, seed=0):
    return jax.random.split(jax.random.key(seed), k)


def _allclose(a, b, rtol=1e-5, atol=1e-6):
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=rtol, atol=atol)


def _row(tree, k):
    return jax.tree_util.tree_map(lambda p: p[k], tree)


@pytest.fixture(scope="module")
def fitted():
    params, hist = training.fit(jax.random.key(1), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
    return params, hist


def test_fit_learns_digits(fitted):
    params, hist = fitted
    acc = training.accuracy(MLP.apply, params, X_TEST, Y_TEST)
    assert acc > 0.85, acc  # chance is 0.1
    assert hist.loss.shape == (CFG.epochs,)
    assert float(hist.loss[-1]) < 0.5 * float(hist.loss[0])


def test_fit_is_deterministic(fitted):
    again, hist = training.fit(jax.random.key(1), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
    _allclose(fitted[0], again, rtol=0, atol=0)
    other, _ = training.fit(jax.random.key(2), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
    assert not np.allclose(other["out"]["kernel"], again["out"]["kernel"])


def test_progress_bar_gives_the_same_result(fitted):
    cfg = training.TrainConfig(epochs=CFG.epochs, batch_size=CFG.batch_size, progress=True)
    params, hist = training.fit(jax.random.key(1), MLP, X_TRAIN, Y_TRAIN, cfg, HYPER)
    _allclose(fitted[0], params, rtol=0, atol=0)
    _allclose(fitted[1], hist, rtol=0, atol=0)


def test_fit_many_masked_model_k_equals_fit_with_its_key_and_weights():
    keys = _keys(2)
    params, hist = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=MASKS)
    assert hist.loss.shape == (2, CFG.epochs)
    for k in range(2):
        one, h1 = training.fit(keys[k], MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, weights=MASKS[k])
        _allclose(_row(params, k), one, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hist.loss[k], h1.loss, rtol=1e-5)
    # A model trained on its members only differs from the other model.
    assert not np.allclose(params["out"]["kernel"][0], params["out"]["kernel"][1])


def test_own_orders_without_masks_train_every_model_on_all_rows():
    keys = _keys(2)
    params, hist = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER,
                                     shared_order=False)
    for k in range(2):
        one, h1 = training.fit(keys[k], MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
        _allclose(_row(params, k), one, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hist.loss[k], h1.loss, rtol=1e-5)


_UNEQUAL = np.zeros((2, X_TRAIN.shape[0]), bool)
_UNEQUAL[0, :300] = True   # 5 minibatches an epoch: skips 5 padding batches
_UNEQUAL[1, 200:800] = True


@pytest.mark.parametrize("masks,optimizer,groups,batch", [
    (None, "adam", False, 64), ("unequal", "adam", False, 64),
    ("unequal", "momentum", False, 64), (None, "adam", True, 64), ("unequal", "adam", True, 64),
    (None, "adam", False, 50)])
def test_fast_path_equals_generic_vmap_path(masks, optimizer, groups, batch, monkeypatch):
    """The wide-layout path for dense stacks computes what the vmapped flax
    model does, with shared minibatches and with per-model member rows of
    different counts (a model skips its padding batches: no update, no Adam
    step counted). Batch 50: the shared path widens minibatches to 64 rows
    (weight-0 copies), the same steps."""
    model = MLP
    assert _wide.dense_stack(model) is not None
    assert _wide.dense_stack(models.make_model("softmax", num_features=64, num_classes=10))
    assert _wide.dense_stack((MLP.init, MLP.apply)) is None
    masks = None if masks is None else _UNEQUAL
    if groups:  # the K models as independent groups (CPU; normally for large models only)
        monkeypatch.setattr(_fit, "_GROUP_MIN_PARAMS", 0)
        monkeypatch.setattr(_fit, "_GROUPS", 2)
    cfg = training.TrainConfig(epochs=3, batch_size=batch, optimizer=optimizer)
    keys = _keys(2, seed=3)
    hyper = training.Hyper(learning_rate=jnp.array([1e-3, 1e-2]), l2=jnp.array([0.0, 1e-2]))
    fast, hf = training.fit_many(keys, model, X_TRAIN, Y_TRAIN, cfg, hyper, masks=masks)
    try:
        _fit._FAST_PATH = False
        slow, hs = training.fit_many(keys, model, X_TRAIN, Y_TRAIN, cfg, hyper, masks=masks)
    finally:
        _fit._FAST_PATH = True
    assert jax.tree_util.tree_structure(fast) == jax.tree_util.tree_structure(slow)
    _allclose(fast, slow, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(hf.loss, hs.loss, rtol=2e-4, atol=1e-5)


def test_pad_columns_adds_weight_zero_copies():
    idx = jnp.arange(12).reshape(2, 6)
    w = jnp.ones((2, 6))
    pi, pw = _fit._pad_columns(idx, w, 4)
    assert pi.shape == pw.shape == (2, 8)
    np.testing.assert_array_equal(pi[:, 6:], [[0, 0], [6, 6]])
    np.testing.assert_array_equal(pw[:, 6:], 0.0)
    same_i, same_w = _fit._pad_columns(idx, w, 3)
    assert same_i is idx and same_w is w


@pytest.mark.cpu_only
def test_cpu_chunks_fit_the_cache_and_give_the_same_result(monkeypatch):
    """On CPU, K models train in chunks sized to the cache; a last short chunk
    is padded (one compiled program) and the result equals one big chunk."""
    n_params = 64 * 16 + 16 + 16 * 10 + 10
    assert _fit._auto_chunk(32, 90_000, "adam") == 16  # 1.44 MB a model, 24 MB chunks
    assert _fit._auto_chunk(64, 2_410, "adam") == 64   # tiny models: all at once
    assert _fit._auto_chunk(40, 90_000, "adam") == 10  # equal chunks, not 17 + 17 + 6
    keys = _keys(3)
    whole, hw = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, chunk_size=3)
    padded, hp = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, chunk_size=2)
    _allclose(whole, padded, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hw.loss, hp.loss, rtol=1e-5)
    assert hp.loss.shape == (3, CFG.epochs)
    monkeypatch.setattr(_fit, "_CPU_CHUNK_BYTES", 2 * 16 * n_params)  # at most 2 a chunk
    assert _fit._auto_chunk(3, n_params, "adam") == 1  # 1 + 1 + 1 pads nothing
    assert _fit._auto_chunk(4, n_params, "adam") == 2
    auto, ha = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
    _allclose(whole, auto, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hw.loss, ha.loss, rtol=1e-5)


@pytest.mark.cpu_only
@pytest.mark.parametrize("fast", [True, False])
def test_masked_sub_groups_give_the_same_result(fast, monkeypatch):
    """On CPU, models with per-model minibatches train as sub-groups whose
    state fits the cache, one sub-group after the other (padded to whole
    sub-groups): the same models and losses as all K at once."""
    n_params = 64 * 16 + 16 + 16 * 10 + 10
    assert _fit._chain_size(32, 90_000, "adam") == 4   # 1.44 MB a model, 6 MB sub-groups
    assert _fit._chain_size(16, 90_000, "adam", threads=2) == 2  # two chunks share the cache
    assert _fit._chain_size(64, 2_410, "adam") == 0    # tiny models: all at once
    monkeypatch.setattr(_fit, "_FAST_PATH", fast)
    monkeypatch.setenv("JAXPRIV_HOST_THREADS", "1")    # the sub-groups below, in one chunk
    keys = _keys(3, seed=5)
    masks = np.concatenate([MASKS, _UNEQUAL[:1]])       # one model skips padding batches
    whole, hw = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=masks)
    monkeypatch.setattr(_fit, "_CHAIN_BYTES", 2 * 16 * n_params)  # at most 2 a sub-group
    assert _fit._chain_size(3, n_params, "adam") == 1  # 1 + 1 + 1 pads nothing
    assert _fit._chain_size(4, n_params, "adam") == 2
    for k in (3, 4):  # 4: two sub-groups of 2, the second padded with a copy
        kk = jnp.concatenate([keys, keys[:1]]) if k == 4 else keys
        mm = np.concatenate([masks, masks[:1]]) if k == 4 else masks
        sub, hs = training.fit_many(kk, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=mm)
        _allclose(whole, jax.tree_util.tree_map(lambda p: p[:3], sub), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hw.loss, hs.loss[:3], rtol=1e-5)
    # An explicit chunk_size (sub-groups inside each chunk) gives the same models.
    capped, hc = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=masks,
                                   chunk_size=3)
    _allclose(whole, capped, rtol=1e-5, atol=1e-6)
    # With a progress bar: one call per epoch, each running every sub-group.
    cfg_bar = training.TrainConfig(epochs=CFG.epochs, batch_size=CFG.batch_size, progress=True)
    bar, hb = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, cfg_bar, HYPER, masks=masks)
    _allclose(whole, bar, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hw.loss, hb.loss, rtol=1e-5)


@pytest.mark.parametrize("masked", [False, True])
def test_chunk_size_gives_the_same_result(masked):
    keys = _keys(2)
    masks = MASKS if masked else None
    whole, hw = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=masks)
    parts, hp = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=masks,
                                  chunk_size=1)
    _allclose(whole, parts, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hw.loss, hp.loss, rtol=1e-5)


def test_hyperparameters_are_vmapped():
    keys = jnp.stack([jax.random.key(4)] * 2)  # same init and order: only hyper differs
    lr = training.Hyper(learning_rate=jnp.array([1e-4, 3e-3]))
    params, hist = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, lr)
    assert float(hist.loss[1, -1]) < float(hist.loss[0, -1])  # the larger step learns faster
    l2 = training.Hyper(learning_rate=3e-3, l2=jnp.array([0.0, 0.3]))
    params, _ = training.fit_many(keys, MLP, X_TRAIN, Y_TRAIN, CFG, l2)
    norms = [float(jnp.sum(params["hidden_0"]["kernel"][k] ** 2)) for k in range(2)]
    assert norms[1] < 0.5 * norms[0], norms


def test_no_recompilation_for_new_values():
    """New keys, data values, masks and hyperparameter values reuse the program."""
    hyper = training.Hyper(learning_rate=jnp.array([2e-3, 5e-4]), l2=jnp.array([0.1, 0.0]))
    x2, y2 = X_TRAIN[::-1].copy(), Y_TRAIN[::-1].copy()
    training.fit_many(_keys(2), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER)
    prog = _fit._program(MLP.init, MLP.apply, CFG, "shared", _wide.dense_stack(MLP))
    size = prog.run._cache_size()
    training.fit_many(_keys(2, seed=9), MLP, x2, y2, CFG, hyper)
    assert prog.run._cache_size() == size
    # The masked path: new masks (same largest member count), keys and values.
    training.fit_many(_keys(2), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, masks=MASKS)
    masked = _fit._program(MLP.init, MLP.apply, CFG, "masked", None)
    size = masked.run._cache_size()
    shuffled = MASKS[:, np.random.default_rng(1).permutation(MASKS.shape[1])]
    training.fit_many(_keys(2, seed=5), MLP, x2, y2, CFG, hyper, masks=shuffled)
    assert masked.run._cache_size() == size


def test_fine_tuning_keeps_the_callers_params(fitted):
    start = fitted[0]
    tuned, _ = training.fit(jax.random.key(7), MLP, X_TRAIN, Y_TRAIN, CFG, HYPER, params=start)
    np.asarray(start["out"]["kernel"])  # still alive (the carry is donated, not the input)
    assert not np.allclose(tuned["out"]["kernel"], start["out"]["kernel"])
    acc = training.accuracy(MLP.apply, tuned, X_TEST, Y_TEST)
    assert acc > 0.85


def test_shared_order_with_masks_trains_on_members_only():
    x = X_TRAIN[:256]
    y = Y_TRAIN[:256]
    masks = np.zeros((2, 256), bool)
    masks[0, y < 5] = True
    masks[1, y >= 5] = True
    params, _ = training.fit_many(_keys(2), MLP, x, y, CFG, HYPER, masks=masks,
                                  shared_order=True)
    preds = [np.asarray(jnp.argmax(MLP.apply(_row(params, k), x), -1)) for k in range(2)]
    assert np.mean(preds[0] < 5) > 0.9 and np.mean(preds[1] >= 5) > 0.9


def test_mse_regression_with_an_init_apply_pair_traces_once():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32)
    traces = {"n": 0}

    def init(key, xb):
        return {"w": jnp.zeros((xb.shape[1],)), "b": jnp.zeros(())}

    def apply(p, xb):
        traces["n"] += 1  # counts traces, not calls: runs only while jax traces
        return xb @ p["w"] + p["b"]

    cfg = training.TrainConfig(epochs=30, batch_size=32, loss="mse", optimizer="momentum")
    params, hist = training.fit(jax.random.key(0), (init, apply), x, y, cfg,
                                training.Hyper(learning_rate=0.05))
    np.testing.assert_allclose(params["w"], [1.0, -2.0, 0.5], atol=0.05)
    assert float(hist.loss[-1]) < 1e-2
    seen = traces["n"]
    assert seen > 0
    # New key, data values and hyperparameters: no new trace (no recompilation).
    training.fit(jax.random.key(1), (init, apply), -x, y + 1, cfg,
                 training.Hyper(learning_rate=0.01, l2=0.1))
    assert traces["n"] == seen


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=X_TRAIN[:, :10]), "64 columns"),
    (dict(x=X_TRAIN[0]), "2 dimensions"),
    (dict(y=Y_TRAIN[:10]), "same number of rows"),
    (dict(y=np.where(Y_TRAIN == 3, 10, Y_TRAIN)), r"y in \[0, 9\]"),
    (dict(y=Y_TRAIN.astype(np.float32)), "dtype kind"),
    (dict(x=np.where(np.arange(64) == 5, np.nan, X_TRAIN)), "NaN"),
    (dict(x=X_TRAIN[:0], y=Y_TRAIN[:0]), "non-empty"),
    (dict(masks=np.zeros((2, 1200), bool)), "at least one member"),
    (dict(masks=MASKS[:, :10]), "masks to have shape"),
    (dict(hyper=training.Hyper(learning_rate=jnp.ones(3))), "hyper.learning_rate"),
    (dict(hyper=training.Hyper(learning_rate=-1.0)), "learning_rate"),
    (dict(keys=jax.random.key(0)), "leading \\[K\\] axis"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(model="mlp"), "Model"),
    (dict(params={"w": jnp.zeros((3, 2))}), "leading \\[K=2\\] axis"),
])
def test_bad_input_is_rejected(kwargs, match):
    args = dict(keys=_keys(2), model=MLP, x=X_TRAIN, y=Y_TRAIN, hyper=HYPER)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        training.fit_many(args.pop("keys"), args.pop("model"), args.pop("x"), args.pop("y"),
                          CFG, **args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="rmsprop"), "Unknown optimizer='rmsprop'.*'adam'"),
    (dict(loss="hinge"), "Unknown loss='hinge'.*'cross_entropy'"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=-1), "batch_size"),
])
def test_bad_config_is_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.TrainConfig(**kwargs)


def test_fit_rejects_per_model_hyper():
    with pytest.raises(ValueError, match="scalar hyper.learning_rate"):
        training.fit(jax.random.key(0), MLP, X_TRAIN, Y_TRAIN, CFG,
                     training.Hyper(learning_rate=jnp.ones(2)))


@pytest.mark.parametrize("m", [1, 7, 1280, 5000])  # 5000: past the packed sort (argsort)
def test_shuffle_is_a_permutation_with_the_last_rows_last(m):
    bits = jax.random.bits(jax.random.key(1), (m,), jnp.uint32)
    last = np.arange(m) % 3 == 2
    p = np.asarray(_fit._shuffle(bits, jnp.asarray(last)))
    np.testing.assert_array_equal(np.sort(p), np.arange(m))
    first = int((~last).sum())
    assert not last[p[:first]].any() and last[p[first:]].all()
    np.testing.assert_array_equal(np.sort(np.asarray(_fit._shuffle(bits))), np.arange(m))


def test_shuffle_is_uniform():
    """Every row lands in every position about equally often (16 rows, 3,200 draws:
    200 expected per cell; a biased shuffle such as one ignoring the draws fails)."""
    m, draws = 16, 3200
    bits = jax.random.bits(jax.random.key(0), (draws, m), jnp.uint32)
    perms = np.asarray(jax.vmap(_fit._shuffle)(bits))
    counts = np.zeros((m, m))
    np.add.at(counts, (perms, np.broadcast_to(np.arange(m), perms.shape)), 1)
    assert counts.min() > 150 and counts.max() < 250, (counts.min(), counts.max())


@pytest.mark.parametrize("m,last,match", [
    (0, None, "m to be a positive int"),
    (2.5, None, "m to be a positive int"),
    (4, np.array([True, False]), r"shape \(4,\); got bool of shape \(2,\)"),
    (2, np.array([1, 0]), r"bool array of shape \(2,\); got int"),
])
def test_random_order_rejects_bad_input(m, last, match):
    with pytest.raises(ValueError, match=match):
        training.random_order(jax.random.key(0), m, last)


def test_random_order_puts_last_rows_last():
    last = jnp.arange(10) >= 7
    p = np.asarray(training.random_order(jax.random.key(3), 10, last))
    np.testing.assert_array_equal(np.sort(p[:7]), np.arange(7))
    np.testing.assert_array_equal(np.sort(p[7:]), [7, 8, 9])
    np.testing.assert_array_equal(p, np.asarray(training.random_order(jax.random.key(3), 10, last)))
