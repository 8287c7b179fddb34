"""Opt-in: JAX's threefry hash on XLA:CPU as straight-line code (same bits).

Every ``jax.random`` draw with the default keys runs the threefry2x32 hash
(20 rounds of add, rotate and xor over uint32 counters). JAX lowers it on GPU
and TPU as straight-line code, which XLA fuses into one elementwise kernel,
but on CPU as a rolled loop of five iterations, which XLA:CPU runs as several
separate passes over the whole array each. :func:`use_unrolled_threefry`
registers JAX's own straight-line lowering for CPU too. The hash is the same,
so every random number is bit for bit the same (tested); only speed changes.

Measured on the 2-core development machine, same process, best of 7:

* 2.6M normals 16.1 -> 6.6 ms; a 1.3M-entry truncated-normal init 7.5 ->
  3.7 ms; compiling one draw 0.23 -> 0.13 s;
* ``benchmarks/bench_dpsgd.py`` (4 DP-SGD runs of a 10,304-256-40 MLP, noise
  the size of the model at every step): 2.64 -> 1.73 s;
* but a MID sweep chunk of 8 models (a small draw shared by the 8 models'
  vmapped consumers) 344 -> 390 us a step: straight-line, XLA fuses the hash
  into every consumer and computes it again for each model.

So it is off by default. Turn it on with ``JAXPRIV_UNROLLED_THREEFRY=1``
before importing jaxpriv, or by calling :func:`use_unrolled_threefry`
before the programs that draw are compiled. It holds for the whole process
(the lowering belongs to the primitive, not to one program) and cannot be
undone. When this JAX's internals differ from those it was written for, it
returns False and the default stays.
"""

from __future__ import annotations

import os

ENV = "JAXPRIV_UNROLLED_THREEFRY"
_state = {"applied": False}


def use_unrolled_threefry() -> bool:
    """Registers JAX's straight-line threefry lowering for CPU; returns whether
    it is in place (False when this JAX has no such lowering)."""
    if _state["applied"]:
        return True
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as tf

        prim, rule = tf.threefry2x32_p, tf._threefry2x32_lowering_rule
    except (ImportError, AttributeError):  # another JAX layout: keep the default
        return False
    mlir.register_lowering(prim, rule, platform="cpu", inline=False)
    _state["applied"] = True
    return True


def unrolled_threefry_applied() -> bool:
    """Whether :func:`use_unrolled_threefry` has registered the lowering."""
    return _state["applied"]


def apply_env() -> bool:
    """:func:`use_unrolled_threefry` when ``JAXPRIV_UNROLLED_THREEFRY=1``
    (``0`` or unset: JAX's default); any other value is an error."""
    value = os.environ.get(ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"Expected {ENV} to be 0 or 1; got {value!r}.")
    return use_unrolled_threefry() if value == "1" else False
