"""Label-only extraction: Lowd-Meek and retraining (Tramèr et al. 2016, §5)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import models, oracles
from jaxpriv.attacks import extraction as ex

from conftest import linear_logits


@pytest.fixture(scope="module")
def binary():
    d = 6
    w = jnp.array([1.5, -2.0, 0.7, 0.0, 1.1, -0.4])
    params = {"w": jnp.stack([jnp.zeros(d), w], axis=1), "b": jnp.array([0.0, -0.3])}
    return d, params


def test_lowd_meek_recovers_direction_from_labels(binary):
    d, params = binary
    oracle = oracles.Oracle.from_model(linear_logits, params, defenses=[oracles.label_only()])
    res = ex.lowd_meek(jax.random.key(0), oracle, ex.box_domain(-np.ones(d), np.ones(d)))
    true = np.concatenate([params["w"][:, 1], params["b"][1:]]).astype(np.float64)
    got = np.concatenate([np.asarray(res.params["w"][:, 1]), np.asarray(res.params["b"][1:])])
    assert abs(got @ true / np.linalg.norm(true) - 1.0) < 1e-9
    assert res.queries == oracle.queries == 64 + d * 53


def test_retraining_strategies_reach_high_fidelity(binary):
    d, params = binary
    oracle = oracles.Oracle.from_model(linear_logits, params, defenses=[oracles.label_only()])
    cand = models.make_model("softmax", num_features=d, num_classes=2)
    dom = ex.box_domain(-np.ones(d), np.ones(d))
    x_test = np.asarray(ex.uniform_queries(jax.random.key(3), dom, 500))
    for strategy in ("uniform", "adaptive"):  # line_search: in the notebook's full run
        cfg = ex.RetrainConfig(model=cand, strategy=strategy, queries=240, rounds=3,
                               train_steps=150, candidates=512)
        before = oracle.queries
        res = ex.extract_retrain(jax.random.key(1), oracle, dom, cfg)
        assert res.queries == oracle.queries - before <= 240
        rep = ex.extraction_report(jax.random.key(2), lambda x: linear_logits(params, x),
                                   lambda x: cand.apply(res.params, x), dom, x_test=x_test,
                                   queries=res.queries, price_per_query=0.01, num_uniform=2000)
        assert rep["1-R_unif"] > 0.93, strategy
        assert rep["price_usd"] == pytest.approx(0.01 * res.queries)


def test_retrain_config_checks(binary):
    cand = models.make_model("softmax", num_features=6, num_classes=2)
    with pytest.raises(ValueError, match="Unknown strategy='random'.*'uniform'"):
        ex.RetrainConfig(model=cand, strategy="random")
    with pytest.raises(ValueError, match="queries=5 >= 2 \\* rounds=10"):
        ex.RetrainConfig(model=cand, queries=5)
