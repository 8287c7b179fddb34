"""MI-Face (white- and black-box): behaviour, stop rules, determinism, no recompilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import models
from jaxpriv.attacks import MIFaceConfig, mi_face, mi_face_blackbox
from jaxpriv.attacks.inversion import (STOP_REASONS, clip_process, dae_process, l2_aux,
                                       tv_aux)
from jaxpriv.oracles import AccessError, Oracle, QueryBudgetExceeded, label_only, round_outputs

D, C = 16, 4


def _linear(params, x):
    return x @ params["w"] + params["b"][None, :]


def _templates(seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 1, (C, D)).astype(np.float32)
    return {"w": jnp.asarray(scale * (t - t.mean(0)).T), "b": jnp.zeros((C,), jnp.float32)}, t


def _constant(params, x):
    # A target that ignores its input.
    return jnp.broadcast_to(params["b"], (x.shape[0], params["b"].shape[0]))


def test_reconstructs_templates_and_stops_when_confident():
    params, t = _templates(scale=8.0)
    cfg = MIFaceConfig(num_features=D, alpha=500, beta=50, gamma=0.99, learning_rate=1.0)
    res = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C), cfg)
    assert res.x.shape == (C, D) and res.x.dtype == jnp.float32
    p = np.exp(np.asarray(res.log_prob))
    assert np.all(p >= 0.99)
    assert [STOP_REASONS[r] for r in np.asarray(res.stop_reason)] == ["confident"] * C
    np.testing.assert_allclose(np.asarray(res.cost), 1 - p, atol=1e-6)
    # Each reconstruction correlates best with its own class's template.
    corr = np.corrcoef(np.asarray(res.x), t - t.mean(0))[:C, C:]
    assert np.all(np.argmax(corr, axis=1) == np.arange(C))
    assert float(np.min(res.x)) >= 0.0 and float(np.max(res.x)) <= 1.0  # clipped


def test_label_whose_target_ignores_input_is_not_inverted():
    params = {"b": jnp.asarray([3.0, 0.0, 0.0, -2.0], jnp.float32)}
    cfg = MIFaceConfig(num_features=D, alpha=100, beta=5, learning_rate=1.0)
    res = mi_face(jax.random.key(0), (_constant, params), jnp.asarray([3]), cfg)
    assert float(res.cost[0]) > 0.9  # stays high
    assert STOP_REASONS[int(res.stop_reason[0])] == "stalled"
    assert int(res.iterations[0]) == 1
    np.testing.assert_array_equal(np.asarray(res.x), 0.0)


def test_per_label_stop_rules_match_a_sequential_reference():
    params, _ = _templates(1, scale=0.5)
    beta, lr, gamma = 3, 0.5, 0.9
    cfg = MIFaceConfig(num_features=D, alpha=60, beta=beta, gamma=gamma, learning_rate=lr,
                       process="none")
    res = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C), cfg)
    w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
    for label in range(C):  # Algorithm 1 for one label, in NumPy
        x = np.zeros(D)
        costs, xs = [], []

        def cost_grad(x):
            z = x @ w + b
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            return 1 - p[label], -p[label] * (w[:, label] - w @ p)

        c, g = cost_grad(x)
        costs.append(c)
        xs.append(x)
        it = 0
        for it in range(1, 61):
            x = x - lr * g
            c, g = cost_grad(x)
            stalled = c >= max(costs[-beta:])
            costs.append(c)
            xs.append(x)
            if stalled or 1 - c >= gamma:
                break
        assert int(res.iterations[label]) == it
        np.testing.assert_allclose(np.asarray(res.x[label]), xs[int(np.argmin(costs))],
                                   atol=1e-4)


def test_costs_compare_through_log_p_not_a_fake_stall():
    # p(3 | x0) ~ 2e-9: 1 - p rounds to exactly 1.0 in float32, yet x moves.
    _, t = _templates(2)
    w = np.zeros((D, C), np.float32)
    w[:, 3] = 1e4 * (t[3] - t.mean(0))
    params = {"w": jnp.asarray(w), "b": jnp.asarray([0.0, 0.0, 0.0, -20.0], jnp.float32)}
    res = mi_face(jax.random.key(0), (_linear, params), jnp.asarray([3]),
                  MIFaceConfig(num_features=D, alpha=200, learning_rate=1.0, process="none"))
    assert int(res.iterations[0]) > 1
    assert STOP_REASONS[int(res.stop_reason[0])] == "confident"


def test_neg_log_p_moves_a_target_that_one_minus_p_cannot():
    params, _ = _templates(2)
    params = {"w": params["w"], "b": jnp.asarray([30.0, 0.0, 0.0, 0.0], jnp.float32)}
    lab = jnp.asarray([3])  # p(3 | x0) ~ 1e-13: the gradient of 1 - p vanishes
    one = mi_face(jax.random.key(0), (_linear, params), lab,
                  MIFaceConfig(num_features=D, alpha=50, learning_rate=1.0, process="none"))
    assert float(one.log_prob[0]) < np.log(1e-6)
    neg = mi_face(jax.random.key(0), (_linear, params), lab,
                  MIFaceConfig(num_features=D, alpha=500, learning_rate=1.0, process="none",
                               cost="neg_log_p"))
    assert np.exp(float(neg.log_prob[0])) >= 0.99


def test_deterministic_and_no_recompilation_on_new_values():
    traces = []

    def apply(params, x):
        traces.append(1)
        return x @ params["w"] + params["b"][None, :]

    p1, _ = _templates(3)
    p2, _ = _templates(4)
    cfg = MIFaceConfig(num_features=D, alpha=30, learning_rate=0.5)
    r1 = mi_face(jax.random.key(0), (apply, p1), jnp.arange(C), cfg)
    n = len(traces)
    r1b = mi_face(jax.random.key(0), (apply, p1), jnp.arange(C), cfg)
    np.testing.assert_array_equal(np.asarray(r1.x), np.asarray(r1b.x))
    mi_face(jax.random.key(1), (apply, p2), jnp.arange(C), cfg, learning_rate=0.3, gamma=0.9)
    mi_face(jax.random.key(1), (apply, p2), jnp.arange(C), cfg,
            learning_rate=jnp.linspace(0.1, 1.0, C))
    assert len(traces) == n


def test_select_last_and_aux_terms_and_processes():
    params, _ = _templates(5)
    base = dict(num_features=D, alpha=20, beta=0, gamma=2.0, learning_rate=0.5)
    last = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C),
                   MIFaceConfig(select="last", **base))
    assert np.all(np.asarray(last.iterations) == 20)
    l2 = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C),
                 MIFaceConfig(aux=l2_aux(1.0), process="none", **base))
    free = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C),
                   MIFaceConfig(process="none", **base))
    assert np.linalg.norm(l2.x) < np.linalg.norm(free.x)
    tv = mi_face(jax.random.key(0), (_linear, params), jnp.arange(C),
                 MIFaceConfig(aux=tv_aux(0.1, (4, 4)), process=clip_process(0.2, 0.8), init=0.5,
                              **base))
    assert float(tv.x.min()) >= 0.2 - 1e-6 and float(tv.x.max()) <= 0.8 + 1e-6


def test_dae_process():
    m = models.make_model("dae", num_features=D, num_classes=C, hidden=(8, 4))
    params = m.init(jax.random.key(0), jnp.zeros((1, D)))
    proc = dae_process(models.dae_reconstruct_fn(m), params, (4, 4), sharpen=1.0)
    res = mi_face(jax.random.key(0), (m.apply, params), jnp.arange(C),
                  MIFaceConfig(num_features=D, alpha=10, process=proc))
    assert res.x.shape == (C, D)
    assert float(res.x.min()) >= 0.0 and float(res.x.max()) <= 1.0


def test_bad_inputs_are_named():
    params, _ = _templates()
    cfg = MIFaceConfig(num_features=D, alpha=5)
    with pytest.raises(ValueError, match="labels"):
        mi_face(jax.random.key(0), (_linear, params), jnp.asarray([0, C]), cfg)
    with pytest.raises(ValueError, match="labels"):
        mi_face(jax.random.key(0), (_linear, params), jnp.asarray([0.5]), cfg)
    with pytest.raises(ValueError, match="num_features"):
        mi_face(jax.random.key(0), (_linear, params), jnp.arange(C),
                MIFaceConfig(num_features=D + 1))
    with pytest.raises(ValueError, match="one_minus_p"):
        MIFaceConfig(num_features=D, cost="mse")
    with pytest.raises(ValueError, match="alpha"):
        MIFaceConfig(num_features=D, alpha=0)
    with pytest.raises(ValueError, match="learning_rate"):
        mi_face(jax.random.key(0), (_linear, params), jnp.arange(C), cfg,
                learning_rate=jnp.zeros(3))
    with pytest.raises(ValueError, match="mi_face_blackbox"):
        mi_face(jax.random.key(0), Oracle.from_model(_linear, params), jnp.arange(C), cfg)


def test_blackbox_inverts_and_counts_queries():
    params, _ = _templates()
    oracle = Oracle.from_model(_linear, params, input_shape=(D,))
    cfg = MIFaceConfig(num_features=D, alpha=100, beta=20, learning_rate=1.0,
                       num_directions=8, sigma=0.05)
    res = mi_face_blackbox(jax.random.key(0), oracle, jnp.arange(C), cfg)
    assert np.all(np.exp(np.asarray(res.log_prob)) >= 0.9)
    assert oracle.queries == res.total_queries
    np.testing.assert_array_equal(np.asarray(res.queries),
                                  (np.asarray(res.iterations) + 1) * (2 * 8 + 1))
    again = mi_face_blackbox(jax.random.key(0), Oracle.from_model(_linear, params), jnp.arange(C),
                             cfg)
    np.testing.assert_array_equal(np.asarray(res.x), np.asarray(again.x))
    fd = mi_face_blackbox(jax.random.key(0), Oracle.from_model(_linear, params), jnp.arange(C),
                          MIFaceConfig(num_features=D, alpha=30, learning_rate=1.0,
                                       estimator="fd", sigma=1e-2))
    assert np.all(np.exp(np.asarray(fd.log_prob)) >= 0.9)


def test_blackbox_refuses_label_only_and_budget_and_rounding_stops_it():
    params, _ = _templates()
    cfg = MIFaceConfig(num_features=D, alpha=50, learning_rate=1.0, num_directions=8)
    with pytest.raises(AccessError, match="black-box MI-Face needs oracle outputs"):
        mi_face_blackbox(jax.random.key(0),
                         Oracle.from_model(_linear, params, defenses=[label_only()]),
                         jnp.arange(C), cfg)
    small = Oracle.from_model(_linear, params, budget=100)
    with pytest.raises(QueryBudgetExceeded):
        mi_face_blackbox(jax.random.key(0), small, jnp.arange(C), cfg)
    assert small.queries == 0
    rounded = Oracle.from_model(_linear, params, defenses=[round_outputs(0)])
    res = mi_face_blackbox(jax.random.key(0), rounded, jnp.arange(C), cfg)
    true_p = jax.nn.softmax(_linear(params, res.x))[jnp.arange(C), jnp.arange(C)]
    assert float(jnp.mean(true_p)) < 0.5  # confidences rounded to 0/1 give no gradient


def test_weights_from_a_fitted_scikit_learn_model():
    from sklearn.linear_model import LogisticRegression

    from jaxpriv import data

    ds = data.load_digits()
    clf = LogisticRegression(max_iter=200).fit(ds.x[:500], ds.y[:500])
    apply_fn, params = models.from_sklearn_logistic(clf)
    res = mi_face(jax.random.key(0), (apply_fn, params), jnp.arange(10),
                  MIFaceConfig(num_features=64, alpha=300, learning_rate=1.0, cost="neg_log_p"))
    np.testing.assert_allclose(np.exp(np.asarray(res.log_prob)),
                               clf.predict_proba(np.asarray(res.x))[np.arange(10), np.arange(10)],
                               rtol=1e-3)
    assert np.all(np.exp(np.asarray(res.log_prob)) >= 0.99)


# ----------------------------------------------------------------------------
# The dense-layer path (_dense) against the generic vmap(grad(apply_fn)) path
# ----------------------------------------------------------------------------

def _dense_targets():
    rng = np.random.default_rng(7)
    soft = models.make_model("softmax", num_features=D, num_classes=C)
    narrow = models.make_model("mlp", num_features=D, num_classes=C, hidden=(24, 12),
                               activation="relu")
    wide = models.make_model("mlp", num_features=512, num_classes=3, hidden=(512,),
                             activation="sigmoid")
    middle = models.make_model("mlp", num_features=D, num_classes=C, hidden=(64,),
                               activation="tanh")
    w_t = jnp.asarray(rng.normal(size=(C, D)), jnp.float32)  # stored [classes, d]

    def torch_layout(params, x):  # x @ W.T with W [c, d]
        return jnp.einsum("nd,cd->nc", x, params["w"]) + params["b"][None, :]

    def probs(params, x):
        return jax.nn.softmax(_linear(params, x))

    p_lin, _ = _templates(6, scale=0.5)
    return {
        "softmax": (soft.apply, soft.init(jax.random.key(1), jnp.zeros((1, D))), D, C, {}),
        "mlp_relu": (narrow.apply, narrow.init(jax.random.key(2), jnp.zeros((1, D))), D, C, {}),
        "mlp_wide": (wide.apply, wide.init(jax.random.key(3), jnp.zeros((1, 512))), 512, 3, {}),
        "mlp_middle": (middle.apply, middle.init(jax.random.key(4), jnp.zeros((1, D))), D, C, {}),
        "torch_layout": (torch_layout, {"w": w_t, "b": jnp.zeros((C,), jnp.float32)}, D, C, {}),
        "probabilities": (probs, p_lin, D, C, {"outputs": "probabilities"}),
    }


def test_dense_plan_finds_the_dense_products():
    from jaxpriv.attacks.inversion import _dense

    targets = _dense_targets()
    for name, (fn, params, d, _, _) in targets.items():
        plan = _dense.dense_plan(fn, params, d)
        assert plan is not None, name
        assert _dense.dense_plan(fn, params, d) is plan  # cached: no second trace
    wide = _dense.dense_plan(*targets["mlp_wide"][:3])
    assert [dn.layout for dn in wide.dense.values()] == ["wide", "narrow"]
    middle = _dense.dense_plan(*targets["mlp_middle"][:3])
    assert [dn.layout for dn in middle.dense.values()] == ["middle", "narrow"]
    torch_layout = _dense.dense_plan(*targets["torch_layout"][:3])
    assert [dn.stored_t for dn in torch_layout.dense.values()] == [True]
    assert _dense.dense_plan(_constant, {"b": jnp.zeros((C,), jnp.float32)}, D) is None


def test_dense_plan_keeps_the_models_matmul_precision():
    """A product at an explicit precision, or traced under
    ``jax.default_matmul_precision("highest")`` (as the test suite runs off a
    CPU), still takes the dense path, and the plan's products and their
    gradients keep that precision."""
    from jaxpriv.attacks.inversion import _dense

    fn, params, d, _, _ = _dense_targets()["torch_layout"]

    def highest(params, x):
        return (jnp.einsum("nd,cd->nc", x, params["w"], precision="highest")
                + params["b"][None, :])

    x = jnp.asarray(np.random.default_rng(0).uniform(size=(5, d)), jnp.float32)
    top = jax.lax.Precision.HIGHEST
    for apply_fn, context in ((highest, None), (fn, "highest")):
        with jax.default_matmul_precision(context):
            plan = _dense.dense_plan(apply_fn, params, d)
            assert plan is not None
            assert [dn.precision for dn in plan.dense.values()] == [(top, top)]
            run = lambda x: _dense.apply(plan, params, _dense.kernels(plan, params), x)
            text = jax.jit(jax.value_and_grad(lambda x: run(x).sum())).lower(x).as_text()
            dots = [line for line in text.splitlines() if "dot_general" in line]
            assert len(dots) == 2 and all("HIGHEST" in line for line in dots), dots
            np.testing.assert_allclose(run(x), apply_fn(params, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "mlp_relu", "mlp_wide", "mlp_middle",
                                  "torch_layout", "probabilities"])
@pytest.mark.parametrize("settings", [
    dict(),
    dict(select="last", beta=0, gamma=2.0, cost="neg_log_p"),
    dict(beta=3, process="none", aux="l2"),
])
def test_dense_path_matches_the_generic_path(name, settings, monkeypatch):
    from jaxpriv.attacks.inversion import _mi_face

    fn, params, d, c, extra = _dense_targets()[name]
    settings = dict(settings)
    if settings.pop("aux", None):
        settings["aux"] = l2_aux(0.01)
    cfg = MIFaceConfig(num_features=d, alpha=40, learning_rate=0.5, **extra, **settings)
    labels = jnp.arange(c)
    fast = mi_face(jax.random.key(0), (fn, params), labels, cfg)
    monkeypatch.setattr(_mi_face._dense, "dense_plan", lambda *args: None)
    slow = mi_face(jax.random.key(0), (fn, params), labels, cfg)
    np.testing.assert_array_equal(np.asarray(fast.iterations), np.asarray(slow.iterations))
    np.testing.assert_array_equal(np.asarray(fast.stop_reason), np.asarray(slow.stop_reason))
    np.testing.assert_allclose(np.asarray(fast.x), np.asarray(slow.x), atol=1e-5)
    np.testing.assert_allclose(np.asarray(fast.cost), np.asarray(slow.cost), rtol=1e-5,
                               atol=1e-6)
