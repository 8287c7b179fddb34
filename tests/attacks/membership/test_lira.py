import jax
import numpy as np
import pytest
from scipy import stats

from jaxpriv import metrics
from jaxpriv.attacks import membership as mia
from jaxpriv.attacks.membership import _lira
from jaxpriv.oracles import AccessError, Oracle, label_only


def _numpy_lira(target, phi, in_mask, online, fixed):
    """Per-example reference: a Python loop over records (scipy Gaussians)."""
    k, n = phi.shape
    ins = [phi[in_mask[:, i], i] for i in range(n)]
    outs = [phi[~in_mask[:, i], i] for i in range(n)]
    sd = lambda v: max(np.std(v, ddof=1) if v.size > 1 else 0.0, 1e-3)
    pooled_in = np.sqrt(np.mean([np.var(v, ddof=1) for v in ins if v.size > 1]))
    pooled_out = np.sqrt(np.mean([np.var(v, ddof=1) for v in outs if v.size > 1]))
    res = np.empty(n)
    for i in range(n):
        so = max(pooled_out, 1e-3) if fixed else sd(outs[i])
        if not online:
            res[i] = stats.norm.logcdf(target[i], outs[i].mean(), so)
            continue
        si = max(pooled_in, 1e-3) if fixed else sd(ins[i])
        res[i] = (stats.norm.logpdf(target[i], ins[i].mean(), si)
                  - stats.norm.logpdf(target[i], outs[i].mean(), so))
    return res


def _gaussian_world(key, k=16, n=200):
    """phi ~ N(mu_i + 2 * member, sd_i): members are shifted up by 2."""
    rng = np.random.default_rng(key)
    mu = rng.normal(size=n) * 3
    sd = np.exp(rng.normal(size=n) * 0.3)
    mask = np.argsort(np.argsort(rng.random((k, n)), axis=0), axis=0) < k // 2
    phi = mu[None] + 2.0 * mask + sd[None] * rng.normal(size=(k, n))
    return phi.astype(np.float32), mask


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("fixed", [True, False])
def test_scores_match_per_example_reference(online, fixed):
    phi, mask = _gaussian_world(0, k=8, n=50)
    target = phi[0] + 0.5
    got = np.asarray(mia.lira_scores(target, phi, mask,
                                     mia.LiraConfig(online=online, fixed_variance=fixed)))
    ref = _numpy_lira(target.astype(np.float64), phi.astype(np.float64), mask, online, fixed)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3)


def test_leave_one_out_equals_explicit_exclusion_and_separates():
    phi, mask = _gaussian_world(1)
    cfg = mia.LiraConfig()
    loo = np.asarray(mia.lira_leave_one_out(phi, mask, np.arange(4), cfg))
    for t in range(4):
        keep = np.arange(phi.shape[0]) != t
        direct = np.asarray(mia.lira_scores(phi[t], phi[keep], mask[keep], cfg))
        np.testing.assert_allclose(loo[t], direct, rtol=1e-4, atol=1e-4)
    a, b = mia.pooled_in_out(loo, mask[:4])
    assert metrics.roc_auc(a, b) > 0.8


def test_fixed_variance_helps_with_few_shadows():
    # With 4 shadows (2 in, 2 out per record) per-example variances collapse.
    phi, mask = _gaussian_world(2, k=5, n=400)
    aucs = {}
    for fixed in (False, True):
        s = mia.lira_leave_one_out(phi, mask, np.arange(5), mia.LiraConfig(fixed_variance=fixed))
        aucs[fixed] = metrics.roc_auc(*mia.pooled_in_out(s, mask))
    assert aucs[True] > aucs[False]


def test_attack_through_oracle(toy):
    phi = mia.shadow_phi(toy.model.apply, toy.shadows.params, toy.x[toy.pool][:300],
                         toy.y[toy.pool][:300])
    assert phi.shape == (2, 300)
    oracle = Oracle.from_model(toy.model.apply, toy.params)
    # Take shadow model 0 as the target via its own params: its phi is recovered exactly.
    p0 = jax.tree_util.tree_map(lambda a: a[0], toy.shadows.params)
    res = mia.lira_attack(jax.random.key(0), (toy.model.apply, p0),
                          (toy.x[toy.pool][:300], toy.y[toy.pool][:300], phi[1:],
                           toy.shadows.in_mask[1:, :300]), mia.LiraConfig(fixed_variance=True))
    np.testing.assert_allclose(np.asarray(res.phi), np.asarray(phi[0]), rtol=1e-4, atol=1e-4)
    assert res.queries == 300
    with pytest.raises(AccessError):
        mia.lira_attack(jax.random.key(0), Oracle.from_model(toy.model.apply, toy.params,
                                                             defenses=[label_only()]),
                        (toy.xq, toy.yq, phi, toy.shadows.in_mask[:, :300]))
    del oracle


def test_bad_inputs():
    phi, mask = _gaussian_world(0, k=4, n=10)
    with pytest.raises(ValueError, match="in_mask to have shape \\(4, 10\\)"):
        mia.lira_scores(phi[0], phi, mask[:, :5])
    with pytest.raises(ValueError, match="target_phi with shape"):
        mia.lira_scores(phi[0, :3], phi, mask)
    with pytest.raises(ValueError, match="targets in \\[0, 3\\]"):
        mia.lira_leave_one_out(phi, mask, np.array([7]))
    with pytest.raises(ValueError, match="min_std"):
        mia.LiraConfig(min_std=0.0)


def test_no_recompilation_and_jit_equals_eager():
    _lira._scores_jit.clear_cache()
    count = []
    orig = _lira._moments

    def counting(*a):
        count.append(1)
        return orig(*a)

    _lira._moments = counting
    try:
        for s in range(3):
            phi, mask = _gaussian_world(s, k=6, n=20)
            mia.lira_scores(phi[0], phi, mask)
        assert len(count) == 2  # one trace: in and out moments
        with jax.disable_jit():
            eager = np.asarray(mia.lira_scores(phi[0], phi, mask))
    finally:
        _lira._moments = orig
    np.testing.assert_allclose(eager, np.asarray(mia.lira_scores(phi[0], phi, mask)),
                               rtol=1e-5, atol=1e-5)
