"""A tiny overfit target and its shadow models, built once per test session."""

import types

import jax
import numpy as np
import pytest

from jaxpriv import models, training
from jaxpriv.attacks import membership as mia

D, C = 24, 4


def toy_data(key, n):
    """Binary records whose labels follow a random linear teacher, 30% flipped."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    x = np.asarray(jax.random.bernoulli(k1, 0.5, (n, D)), np.float32)
    w = np.asarray(jax.random.normal(k2, (D, C)))
    y = (x @ w).argmax(1).astype(np.int32)
    noisy = np.asarray(jax.random.bernoulli(k3, 0.3, (n,)))
    y = np.where(noisy, np.asarray(jax.random.randint(k4, (n,), 0, C)), y).astype(np.int32)
    return x, y


@pytest.fixture(scope="session")
def toy():
    x, y = toy_data(jax.random.key(0), 900)
    model = models.make_model("mlp", num_features=D, num_classes=C, hidden=(64,))
    tc = training.TrainConfig(epochs=60, batch_size=32)
    hyper = training.Hyper(learning_rate=5e-3)
    members, nonmembers, pool = np.arange(0, 150), np.arange(150, 300), np.arange(300, 900)
    params, _ = training.fit(jax.random.key(1), model, x[members], y[members], tc, hyper)
    shadow_cfg = mia.ShadowConfig(model=model, num_shadows=2, sampling="disjoint", n_train=150,
                                  train=tc, hyper=hyper)
    shadows = mia.train_shadows(jax.random.key(2), x[pool], y[pool], shadow_cfg)
    xq = np.concatenate([x[members], x[nonmembers]])
    yq = np.concatenate([y[members], y[nonmembers]])
    truth = np.r_[np.ones(150, bool), np.zeros(150, bool)]
    return types.SimpleNamespace(x=x, y=y, model=model, tc=tc, hyper=hyper, params=params,
                                 members=members, nonmembers=nonmembers, pool=pool,
                                 shadow_cfg=shadow_cfg, shadows=shadows, xq=xq, yq=yq,
                                 truth=truth)
