"""Small targets shared by the extraction tests."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import models


def synthetic_linear(key, d, c, scale=2.0):
    k1, k2 = jax.random.split(key)
    w = scale * jax.random.normal(k1, (d, c)) / np.sqrt(d)
    b = 0.5 * jax.random.normal(k2, (c,))
    return {"w": w, "b": b}


def linear_logits(params, x):
    return x @ params["w"] + params["b"][None, :]


@pytest.fixture(scope="module")
def digits():
    from jaxpriv import data

    return data.load("digits")


@pytest.fixture(scope="module")
def tiny_mlp():
    """A tanh MLP target 6 -> 3 -> 3 with its parameters (48 unknowns... 33)."""
    model = models.make_model("mlp", num_features=6, num_classes=3, hidden=(3,),
                              activation="tanh")
    params = model.init(jax.random.key(3), jnp.zeros((1, 6)))
    params = jax.tree_util.tree_map(lambda a: 2.0 * a, params)
    return model, params
