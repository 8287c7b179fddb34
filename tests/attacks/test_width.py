"""jaxpriv.attacks._width: a target's output width, traced once per shape."""

import jax.numpy as jnp
import pytest

from jaxpriv.attacks import _width


def _counting(counter, c=7):
    def apply(params, x):
        counter["n"] += 1
        return x @ params["w"][:, :c]
    return apply


def test_width_is_traced_once_per_target_shape():
    counter = {"n": 0}
    apply = _counting(counter)
    p = {"w": jnp.ones((5, 9))}
    assert _width.num_classes(apply, p, 5) == 7
    assert _width.num_classes(apply, {"w": jnp.zeros((5, 9))}, 5) == 7
    assert counter["n"] == 1  # same shapes: no second trace
    assert _width.num_classes(apply, {"w": jnp.ones((6, 9))}, 6) == 7
    assert counter["n"] == 2  # new shapes: traced again


def test_width_errors_name_the_input_and_the_hint():
    p = {"w": jnp.ones((5, 9))}
    with pytest.raises(ValueError, match=r"x\[1, 4\]\) to run; it failed: .*Check d\."):
        _width.num_classes(lambda q, x: x @ q["w"], p, 4, hint="Check d.")
    with pytest.raises(ValueError, match=r"return \[1, num_classes\]; got shape \(1, 9, 1\)"):
        _width.num_classes(lambda q, x: (x @ q["w"])[..., None], p, 5)
