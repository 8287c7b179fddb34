"""The white-box MI-Face gradient for targets built from dense layers, laid out for XLA:CPU.

One MI-Face step on a dense target is two skinny matrix products per layer:
the forward ``[labels, k] @ [k, h]`` and the input gradient
``[labels, h] @ [h, k]`` (softmax regression on the AT&T faces: 40 x 10,304 x
40; the paper's MLP: 40 x 10,304 x 3,000). ``vmap(grad(apply_fn))`` writes them
as ``x @ W`` and ``g @ W.T``, and at these shapes XLA:CPU's speed depends a
lot on how the operands are laid out in memory. Measured on the 2-core AVX-512
EPYC development machine (jaxlib 0.10, single-core CPU time per product):

* narrow layers (``h`` below 56, e.g. the 40 classes): contract the minor
  axis of both operands, ``einsum("lk,hk->lh", a, W.T)`` forward and
  ``einsum("lh,hk->lk", g, W.T)`` backward, with the kernel transposed once
  before the loop (1.3x and 1.2x faster than ``x @ W`` and ``g @ W.T``);
* middle layers (``h`` from 56 up, below the wide case, e.g. a 10,304 ->
  128 encoder): the plain ``a @ W`` forward and the narrow layers' backward
  (measured in the sixth session at 40 x 10,304 x h, alternating rounds,
  time per forward: 270 against 340 us at h = 64, 330 against 370 us at
  128, 640 against 1,120 us at 256; the plain forward lost at h = 40 and
  48, 320 against 210 and 240 us; a backward from the untransposed kernel
  was slower at every h);
* wide layers (both widths large, e.g. 10,304 -> 3,000): contract the major
  axis of both operands, ``einsum("kl,kh->lh", a.T, W)`` forward and
  ``einsum("hl,hk->lk", g.T, W.T)`` backward, with the small activations
  copied transposed every step (1.3x and 1.8x; at 40 x 10,304 x 3,000 both
  then run at about 150 GFLOP/s per core, near this machine's matmul peak).
  XLA would fold a plain transpose back into the product, so the copies sit
  behind ``optimization_barrier``.

Every layout reads the kernel's transposed copy ``W.T`` (made once per
attack); the middle and wide ones also read ``W`` itself.

:func:`dense_plan` reads ``apply_fn``'s jaxpr once; every
``dot_general(activation, kernel)`` whose kernel is a 2-D parameter becomes
such a dense product (its gradient given by ``custom_vjp``), and every other
equation runs as it would under ``vmap`` (equation by equation, so any
primitive and any custom derivative rule is kept). Reconstructions equal
those of ``vmap(grad(apply_fn))`` up to float rounding (the products sum in
another order).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.extend.core as jcore
import jax.numpy as jnp
import numpy as np

_WIDE = 512   # both widths at least this: the wide layout (its per-step copies pay off)
_MIDDLE = 56  # output width at least this (and not wide): the plain forward
LAYOUTS = ("narrow", "middle", "wide")

_PLAN_CACHE: dict = {}


class _Dense(NamedTuple):
    leaf: int          # index of the kernel among the flattened parameters
    stored_t: bool     # kernel stored [h, k] (the product is a @ W.T)
    layout: str        # one of LAYOUTS
    precision: Any = None  # the product's own precision (e.g. under "highest"), kept


class DensePlan:
    """How to evaluate one ``apply_fn`` batched over labels (hashable by identity).

    Attributes:
      jaxpr: ``apply_fn(params, x[1, d])``'s jaxpr (no constants).
      dense: equation index -> :class:`_Dense` for the dense products.
      num_leaves: number of parameter leaves (the jaxpr's inputs before ``x``).
    """

    def __init__(self, jaxpr, dense: dict[int, _Dense], num_leaves: int):
        self.jaxpr = jaxpr
        self.dense = dense
        self.num_leaves = num_leaves

    @property
    def kernels(self) -> dict[int, tuple[bool, bool]]:
        """Kernel leaf -> (stored transposed, some product reads ``W`` itself)."""
        out: dict[int, tuple[bool, bool]] = {}
        for dn in self.dense.values():
            t, w = out.get(dn.leaf, (dn.stored_t, False))
            out[dn.leaf] = (t, w or dn.layout != "narrow")
        return out


def dense_plan(apply_fn, params, d: int) -> DensePlan | None:
    """The :class:`DensePlan` of ``apply_fn`` (cached), or ``None`` if it has no dense product.

    Cached per (``apply_fn``, parameter shapes, ``d``, default matmul
    precision) like the compiled program, so a second attack neither traces
    ``apply_fn`` again nor recompiles. The products keep the precision the
    model's own trace gives them (e.g. under ``jax.default_matmul_precision``).
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    sig = (apply_fn, treedef, tuple((np.shape(a), str(getattr(a, "dtype", type(a))))
                                    for a in leaves), d,
           str(jax.config.jax_default_matmul_precision))
    try:
        if sig in _PLAN_CACHE:
            return _PLAN_CACHE[sig]
    except TypeError:  # unhashable apply_fn: the generic path (which needs it hashable too)
        return None
    plan = _build(apply_fn, params, d)
    if len(_PLAN_CACHE) < 256:
        _PLAN_CACHE[sig] = plan
    return plan


def _build(apply_fn, params, d):
    leaves = jax.tree_util.tree_leaves(params)
    try:
        closed = jax.make_jaxpr(apply_fn)(params, jax.ShapeDtypeStruct((1, d), jnp.float32))
    except Exception:  # noqa: BLE001 - the generic path reports the error
        return None
    jaxpr = closed.jaxpr
    if (closed.consts or jaxpr.constvars or jaxpr.effects
            or len(jaxpr.invars) != len(leaves) + 1 or len(jaxpr.outvars) != 1):
        return None
    x_var = jaxpr.invars[-1]
    leaf_of = {v: i for i, v in enumerate(jaxpr.invars[:-1])}
    batched = {x_var}
    dense = {}
    for i, eqn in enumerate(jaxpr.eqns):
        ins = [not isinstance(v, jcore.Literal) and v in batched for v in eqn.invars]
        if any(ins):
            batched.update(eqn.outvars)
        if eqn.primitive.name != "dot_general" or ins != [True, False]:
            continue
        a, w = eqn.invars
        if w not in leaf_of:
            continue
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        pet = eqn.params.get("preferred_element_type")
        prec = eqn.params.get("precision")
        if (a.aval.ndim != 2 or a.aval.shape[0] != 1 or w.aval.ndim != 2 or tuple(lc) != (1,)
                or tuple(rc) not in ((0,), (1,)) or lb or rb
                # one precision for both operands (the layouts swap them), or none
                or not (prec is None or (isinstance(prec, tuple) and len(set(prec)) == 1))
                or (pet is not None and jnp.dtype(pet) != jnp.float32)
                or a.aval.dtype != jnp.float32 or w.aval.dtype != jnp.float32):
            continue
        k = a.aval.shape[1]
        h = w.aval.shape[1 - rc[0]]
        layout = "wide" if min(k, h) >= _WIDE else "middle" if h >= _MIDDLE else "narrow"
        dense[i] = _Dense(leaf_of[w], tuple(rc) == (1,), layout, prec)
    out = jaxpr.outvars[0]
    if (not dense or isinstance(out, jcore.Literal) or out not in batched
            or out.aval.ndim != 2 or out.aval.shape[0] != 1):
        return None
    return DensePlan(jaxpr, dense, len(leaves))


def kernels(plan: DensePlan, params) -> dict[int, tuple[Any, Any]]:
    """Kernel leaf -> ``(W [k, h] or None, W.T [h, k])``, laid out once (outside the loop)."""
    leaves = jax.tree_util.tree_leaves(params)
    out = {}
    for leaf, (stored_t, reads_w) in plan.kernels.items():
        stored = leaves[leaf]
        if stored_t:
            out[leaf] = (jax.lax.optimization_barrier(stored.T) if reads_w else None, stored)
        else:
            out[leaf] = (stored if reads_w else None, jax.lax.optimization_barrier(stored.T))
    return out


def _dense(layout, w, wt, a, precision=None):
    """``a [L, k] @ W [k, h]`` in the chosen layout, with its input gradient,
    both at the model's own ``precision`` for that product."""
    bar = jax.lax.optimization_barrier
    wide = layout == "wide"
    ein = functools.partial(jnp.einsum, precision=precision)

    def forward(a):
        if wide:
            return ein("kl,kh->lh", bar(a.T), w)
        if layout == "middle":
            return jnp.matmul(a, w, precision=precision)
        return ein("lk,hk->lh", a, wt)

    @jax.custom_vjp
    def f(a):
        return forward(a)

    def f_fwd(a):
        return forward(a), None

    def f_bwd(_, ct):
        if wide:
            return (ein("hl,hk->lk", bar(ct.T), wt),)
        return (ein("lh,hk->lk", ct, wt),)

    f.defvjp(f_fwd, f_bwd)
    return f(a)


def _bind(eqn, args):
    # As jax.core.eval_jaxpr does; older jax returned (subfuns, params).
    params = eqn.primitive.get_bind_params(eqn.params)
    subfuns, params = params if isinstance(params, tuple) else ((), params)
    out = eqn.primitive.bind(*subfuns, *args, **params)
    return list(out) if eqn.primitive.multiple_results else [out]


def apply(plan: DensePlan, params, weights, x: jax.Array) -> jax.Array:
    """``apply_fn(params, x[l][None])[0]`` for every row: ``x [L, d] -> [L, c]``.

    ``weights`` is :func:`kernels`' output. Differentiable (reverse mode).
    """
    leaves = jax.tree_util.tree_leaves(params)
    jaxpr = plan.jaxpr
    env: dict = {}

    def read(v):
        if isinstance(v, jcore.Literal):
            return v.val, False
        return env[v]

    for v, leaf in zip(jaxpr.invars[:-1], leaves):
        env[v] = (leaf, False)
    env[jaxpr.invars[-1]] = (x[:, None, :], True)  # rows as traced: [1, d] each
    for i, eqn in enumerate(jaxpr.eqns):
        vals, flags = zip(*(read(v) for v in eqn.invars)) if eqn.invars else ((), ())
        dn = plan.dense.get(i)
        if dn is not None:
            w, wt = weights[dn.leaf]
            outs = [_dense(dn.layout, w, wt, vals[0][:, 0, :], dn.precision)[:, None, :]]
            batched = True
        elif any(flags):
            outs = jax.vmap(lambda *a, eqn=eqn: _bind(eqn, a),
                            in_axes=tuple(0 if f else None for f in flags))(*vals)
            batched = True
        else:
            outs, batched = _bind(eqn, vals), False
        for v, o in zip(eqn.outvars, outs):
            if not isinstance(v, jcore.DropVar):
                env[v] = (o, batched)
    out, _ = read(jaxpr.outvars[0])
    return out[:, 0, :]
