"""The opt-in straight-line threefry lowering on CPU (jaxpriv._rng)."""

import json
import os
import subprocess
import sys

import pytest

_DRAWS = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np
import jaxpriv
from jaxpriv import _rng
if len(sys.argv) > 1:
    jaxpriv.use_unrolled_threefry()
key = jax.random.key(7)
out = {
    "applied": _rng.unrolled_threefry_applied(),
    # The rolled lowering compiles to a while loop; the straight-line one to none.
    "loop": " while(" in jax.jit(lambda k: jax.random.bits(k, (1000,))).lower(
        key).compile().as_text(),
    "bits": np.asarray(jax.jit(lambda k: jax.random.bits(k, (1000,)))(key)).tolist(),
    "normal": np.asarray(jax.jit(lambda k: jax.random.normal(k, (3, 5)))(key)).tolist(),
    "trunc": np.asarray(jax.jit(lambda k: jax.random.truncated_normal(
        k, -2.0, 2.0, (257,)))(key)).tolist(),
    "split": np.asarray(jax.random.key_data(jax.random.split(key, 4))).tolist(),
    "vmapped": np.asarray(jax.jit(jax.vmap(lambda k: jax.random.uniform(k, (9,))))(
        jax.random.split(key, 3))).tolist(),
}
print(json.dumps(out))
"""


def _run(env_value, *args):
    env = dict(os.environ, JAX_PLATFORMS="cpu")  # the switch is for XLA:CPU's lowering
    env.pop("JAXPRIV_UNROLLED_THREEFRY", None)
    if env_value is not None:
        env["JAXPRIV_UNROLLED_THREEFRY"] = env_value
    proc = subprocess.run([sys.executable, "-c", _DRAWS, *args], env=env,
                          capture_output=True, text=True, timeout=300)
    return proc


def test_same_bits_with_and_without_the_unrolled_lowering():
    default = _run(None)
    assert default.returncode == 0, default.stderr
    by_env = _run("1")
    by_call = _run("0", "call")
    assert by_env.returncode == 0 and by_call.returncode == 0, by_env.stderr + by_call.stderr
    a, b, c = (json.loads(p.stdout.strip().splitlines()[-1]) for p in (default, by_env, by_call))
    assert a.pop("applied") is False and a.pop("loop") is True
    for d in (b, c):
        assert d.pop("applied") is True and d.pop("loop") is False
    assert a == b == c
    assert len(set(a["bits"])) > 990   # real draws, not a constant


def test_bad_env_value_names_the_variable():
    proc = _run("yes")
    assert proc.returncode != 0
    assert "JAXPRIV_UNROLLED_THREEFRY" in proc.stderr and "'yes'" in proc.stderr


def test_apply_env_off_by_default(monkeypatch):
    from jaxpriv import _rng

    monkeypatch.delenv("JAXPRIV_UNROLLED_THREEFRY", raising=False)
    assert _rng.apply_env() is False
    monkeypatch.setenv("JAXPRIV_UNROLLED_THREEFRY", "2")
    with pytest.raises(ValueError, match="JAXPRIV_UNROLLED_THREEFRY.*'2'"):
        _rng.apply_env()
