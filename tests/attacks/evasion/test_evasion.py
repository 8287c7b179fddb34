"""Evasion: FGSM, PGD, Carlini-Wagner L2 and black-box NES PGD on a small digits MLP."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv.attacks import evasion
from jaxpriv.attacks.evasion import _common, _gradient
from jaxpriv.attacks.evasion import (CWConfig, EvasionData, FGSMConfig, NESConfig, PGDConfig,
                                     all_targets, carlini_wagner_l2, fgsm, pgd, pgd_nes,
                                     summarize)
from jaxpriv.experiments.suite_evasion import digits_target
from jaxpriv.oracles import AccessError, Oracle, QueryBudgetExceeded, label_only, round_outputs


@pytest.fixture(scope="module")
def target():
    """A standardised digits MLP (StandardScaler inside the model; inputs in [0, 1])."""
    apply_fn, params, _, test = digits_target(jax.random.key(0), hidden=(32,), epochs=5)
    return apply_fn, params, test.x[:200], test.y[:200]


def _acc(apply_fn, params, x, y):
    return float(np.mean(np.asarray(jnp.argmax(apply_fn(params, x), -1)) == y))


def test_target_is_accurate(target):
    apply_fn, params, x, y = target
    assert _acc(apply_fn, params, x, y) > 0.9


def test_pgd_linf_at_eps_0_1_drives_accuracy_below_10_percent(target):
    """Madry et al. ICLR 2018: PGD at L-inf eps 0.1 on [0, 1] digits; one call per sweep."""
    apply_fn, params, x, y = target
    d = EvasionData(x, y)
    eps = (0.0, 0.03, 0.1)
    res = pgd(jax.random.key(1), (apply_fn, params), d, PGDConfig(eps=eps, steps=10))
    assert res.x_adv.shape == (3, 200, 64) and res.success.shape == (3, 200)
    acc = summarize(res, d)["accuracy_under_attack"]
    assert acc[2] < 0.10
    assert _acc(apply_fn, params, np.asarray(res.x_adv[2]), y) < 0.10
    assert acc[0] >= acc[1] >= acc[2]
    np.testing.assert_array_equal(np.asarray(res.x_adv[0]), x)  # eps 0 moves nothing
    delta = np.asarray(res.x_adv[2]) - x
    assert np.abs(delta).max() <= 0.1 + 1e-5
    assert np.asarray(res.x_adv).min() >= 0.0 and np.asarray(res.x_adv).max() <= 1.0
    np.testing.assert_allclose(res.linf[2], np.abs(delta).max(-1), atol=1e-6)

    # FGSM (one step, Goodfellow et al. ICLR 2015) is weaker than PGD at every eps.
    r_fgsm = fgsm(jax.random.key(1), (apply_fn, params), d, FGSMConfig(eps=eps))
    s_fgsm = np.asarray(r_fgsm.success).mean(1)
    assert np.all(np.asarray(res.success).mean(1) >= s_fgsm - 0.02)
    clean_wrong = np.asarray(jnp.argmax(apply_fn(params, x), -1)) != y
    np.testing.assert_array_equal(np.asarray(r_fgsm.success[0]), clean_wrong)
    assert 0.0 < s_fgsm[2] < 1.0


def test_pgd_l2_stays_in_the_ball(target):
    apply_fn, params, x, y = target
    res = pgd(jax.random.key(2), (apply_fn, params), EvasionData(x[:50], y[:50]),
              PGDConfig(norm="l2", eps=0.5, steps=10))
    assert float(np.max(res.l2)) <= 0.5 + 1e-4
    assert float(np.mean(res.success)) > 0.5


def test_carlini_wagner_reaches_95_percent_targeted_success_with_small_norms(target):
    """Carlini-Wagner S&P 2017 §V: every input against every other label."""
    apply_fn, params, x, y = target
    d = EvasionData(x[:10], y[:10], all_targets(y[:10], 10))
    res = carlini_wagner_l2(jax.random.key(4), (apply_fn, params), d,
                            CWConfig(steps=50, search_steps=4))
    assert res.success.shape == (10, 9)
    assert float(np.mean(res.success)) >= 0.95
    ok = np.asarray(res.success)
    np.testing.assert_array_equal(np.asarray(res.pred)[ok], d.targets[ok])
    # Minimum norm: well inside the L2 size of an eps=0.1 L-inf step (~0.7 here).
    assert float(np.median(np.asarray(res.l2)[ok])) < 0.7
    assert np.asarray(res.x_adv).min() >= 0.0 and np.asarray(res.x_adv).max() <= 1.0


def test_untargeted_carlini_wagner_keeps_the_closest_label(target):
    apply_fn, params, x, y = target
    res = carlini_wagner_l2(jax.random.key(4), (apply_fn, params), EvasionData(x[:10], y[:10]),
                            CWConfig(steps=50, search_steps=4))
    assert res.x_adv.shape == (10, 64) and res.success.shape == (10,)
    ok = np.asarray(res.success)
    assert ok.mean() >= 0.9
    assert np.all(np.asarray(res.pred)[ok] != y[:10][ok])


def test_nes_black_box_lowers_accuracy_counts_queries_and_rounding_blunts_it(target):
    """Ilyas et al. ICML 2018 (NES) through the oracle; rounding (a defence) hurts it."""
    apply_fn, params, x, y = target
    oracle = Oracle.from_model(apply_fn, params)
    d = EvasionData(x[:20], y[:20])
    cfg = NESConfig(eps=0.03, steps=10, samples=10, sigma=0.001)
    res = pgd_nes(jax.random.key(5), oracle, d, cfg)
    assert res.queries == oracle.queries == 20 * (10 * 2 * 10 + 1)
    assert summarize(res, d)["accuracy_under_attack"] < 0.5
    assert float(np.max(res.linf)) <= 0.03 + 1e-5
    rounded = pgd_nes(jax.random.key(5), Oracle.from_model(
        apply_fn, params, defenses=[round_outputs(1)]), d, cfg)
    assert float(np.mean(rounded.success)) < float(np.mean(res.success))


def test_nes_refuses_label_only_and_respects_the_budget(target):
    apply_fn, params, x, y = target
    d = EvasionData(x[:4], y[:4])
    with pytest.raises(AccessError, match="pgd_nes"):
        pgd_nes(jax.random.key(0), Oracle.from_model(apply_fn, params, defenses=[label_only()]),
                d, NESConfig(steps=2, samples=2))
    small = Oracle.from_model(apply_fn, params, budget=10)
    with pytest.raises(QueryBudgetExceeded):
        pgd_nes(jax.random.key(0), small, d, NESConfig(steps=2, samples=2))
    assert small.queries == 0


def test_same_key_same_result_other_key_other_start(target):
    apply_fn, params, x, y = target
    d = EvasionData(x, y)
    cfg = PGDConfig(eps=(0.0, 0.03, 0.1), steps=10)  # the compiled program of the first test
    a = pgd(jax.random.key(7), (apply_fn, params), d, cfg)
    b = pgd(jax.random.key(7), (apply_fn, params), d, cfg)
    c = pgd(jax.random.key(8), (apply_fn, params), d, cfg)
    np.testing.assert_array_equal(np.asarray(a.x_adv), np.asarray(b.x_adv))
    assert not np.array_equal(np.asarray(a.x_adv), np.asarray(c.x_adv))


def _linear(params, x):
    return x @ params["w"] + params["b"][None]


def test_fgsm_matches_its_formula_and_the_eager_objective():
    """Goodfellow et al. §3 on a tiny linear model; eager pieces equal the compiled attack.

    (A whole attack under ``jax.disable_jit`` compiles every primitive on its own, far too
    slow for CI; the per-item objective and projection are checked eagerly instead.)
    """
    key = jax.random.key(10)
    params = {"w": jax.random.normal(key, (6, 3)), "b": jnp.zeros(3)}
    x = jax.random.uniform(jax.random.fold_in(key, 1), (4, 6))
    y = np.array([0, 1, 2, 0], np.int32)
    got = fgsm(jax.random.key(0), (_linear, params), EvasionData(x, y), FGSMConfig(eps=0.2))
    ce = lambda z: -jnp.sum(jax.nn.log_softmax(_linear(params, z)) * jax.nn.one_hot(y, 3))
    want = np.clip(np.asarray(x) + 0.2 * np.sign(np.asarray(jax.grad(ce)(x))), 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(got.x_adv), want, atol=1e-6)
    logits = _linear(params, x[:1])[0]
    with jax.disable_jit():
        eager = _gradient.objective(logits, 1, "margin", True)
        eager_proj = _common.project(jnp.array([3.0, 4.0]), 1.0, "l2")
    np.testing.assert_allclose(eager, jax.jit(_gradient.objective, static_argnums=(2, 3))(
        logits, 1, "margin", True), rtol=1e-6)
    np.testing.assert_allclose(eager_proj, [0.6, 0.8], rtol=1e-6)


def test_no_recompilation_for_new_eps_or_inputs(target):
    apply_fn, params, x, y = target
    traces = []

    def counted(p, z):
        traces.append(1)
        return apply_fn(p, z)

    wb = (counted, params)
    pgd(jax.random.key(0), wb, EvasionData(x[:8], y[:8]), PGDConfig(eps=0.1, steps=2))
    first = len(traces)
    pgd(jax.random.key(1), wb, EvasionData(x[8:16], y[8:16]), PGDConfig(eps=0.2, steps=2))
    assert len(traces) == first


def test_all_targets_lists_every_other_label():
    t = all_targets(np.array([0, 2, 9]), 10)
    assert t.shape == (3, 9) and t.dtype == np.int32
    for row, label in zip(t, [0, 2, 9]):
        assert sorted(row.tolist() + [label]) == list(range(10))


def test_bad_inputs_name_the_argument(target):
    apply_fn, params, x, y = target
    wb = (apply_fn, params)
    with pytest.raises(ValueError, match="norm"):
        PGDConfig(norm="l1")
    with pytest.raises(ValueError, match="'linf', 'l2'"):
        FGSMConfig(norm="l0")
    with pytest.raises(ValueError, match="eps"):
        PGDConfig(eps=-0.1)
    with pytest.raises(ValueError, match="steps"):
        PGDConfig(steps=0)
    with pytest.raises(ValueError, match="clip"):
        CWConfig(clip=(1.0, 0.0))
    with pytest.raises(ValueError, match="data.x"):
        pgd(jax.random.key(0), wb, EvasionData(x[0], y[:1]))
    with pytest.raises(ValueError, match="data.y"):
        pgd(jax.random.key(0), wb, EvasionData(x[:3], np.array([0, 1, 12])))
    with pytest.raises(ValueError, match="finite"):
        pgd(jax.random.key(0), wb, EvasionData(np.full((2, 64), np.nan, np.float32), y[:2]))
    with pytest.raises(ValueError, match="clip box"):
        pgd(jax.random.key(0), wb, EvasionData(x[:2] + 2.0, y[:2]))
    with pytest.raises(ValueError, match="data.targets"):
        pgd(jax.random.key(0), wb, EvasionData(x[:2], y[:2], np.zeros((3, 1), np.int32)))
    with pytest.raises(ValueError, match="white-box"):
        pgd(jax.random.key(0), Oracle.from_model(apply_fn, params), EvasionData(x[:2], y[:2]))
    with pytest.raises(ValueError, match="Oracle"):
        pgd_nes(jax.random.key(0), wb, EvasionData(x[:2], y[:2]))
    assert evasion.__all__ and all(hasattr(evasion, n) for n in evasion.__all__)
