"""Jitted training with optax: one model (``fit``) or K models at once (``fit_many``).

``fit_many`` writes the training step of one model and ``vmap``s it over K
models: their keys, member masks and numeric hyperparameters (learning rate,
L2 weight). Epochs run inside one compiled ``lax.fori_loop`` (a ``lax.scan``
over minibatches each), and the compiled program is cached per architecture,
config and shapes, so a second call with new keys, data values or
hyperparameters does not compile again.

Two data paths:

* shared order (no masks, the default then): every model sees the same
  minibatches. The epoch's permutation of ``x`` is gathered once, and the
  first layer of all K models becomes one wide matmul ``x @ [W_1 .. W_K]``.
  Dense stacks (``"softmax"`` and ``"mlp"`` models) go further: their
  parameters are held in that wide layout for the whole run (see
  ``_wide.py``), so no transposes are paid per step.
* per-model order (with ``masks``): model k draws its minibatches from its own
  member rows in its own order; each step gathers the K minibatches
  ``x[idx[K, B]]`` and runs K batched matmuls. These models share no matmul,
  so on a CPU batching them buys no arithmetic efficiency; what pays is
  keeping each model's parameters and optimizer state in cache. There the K
  models train as sub-groups of a few models whose state fits a few MB, each
  sub-group running all of a call's epochs before the next (measured on the
  2-core development machine, 32 shadow models 600 -> 128 -> 100: 1.1-1.2x
  faster than all 32 stepping together, and on par with or faster than 32
  sequential jitted fits). Accelerators step all K together.

On CPU, chunks of models (``chunk_size``, else sized to the cache) run one
after the other; without a ``chunk_size`` the models are also split into one
chunk per host thread, and those chunks run at once (``jaxpriv._parallel``:
32 shadow models 1.2-1.4x faster on the 2-core machine; the shared-order
path, whose wide matmuls already use every core, gains about 3%). The result
does not depend on the chunking.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _parallel, _validate
from jaxpriv.models import Model

Params = Any

OPTIMIZERS = ("adam", "sgd", "momentum")
_FAST_PATH = True  # the wide-layout path for dense stacks (tests switch it off to compare)
# On CPU the fast path splits the K models into this many independent groups,
# so XLA runs their single-threaded elementwise work on all cores at once.
_GROUPS = min(4, os.cpu_count() or 1)
_GROUP_MIN_PARAMS = 2 ** 19  # parameters of the chunk's K models together
# On CPU, models with per-model minibatches ("masked": shadow models) share no
# matmul, so batching them buys no arithmetic efficiency; what pays is keeping
# their parameters and optimizer state in cache. A chunk then trains as
# sub-groups of models whose state fits this many bytes, one sub-group after
# the other (all of a call's epochs each).
_CHAIN_BYTES = 6 * 2 ** 20
# The shared-order fast path holds activations features-major, [units, B]: its
# first-layer product W [K * h, d] . x [B, d]^T runs ~1.13x faster on XLA:CPU
# when B is a multiple of 16 (the AVX-512 width; measured on one core,
# [1024, 600] x [B, 600]^T: 190 useful GFLOP/s at B = 250, 215 at 256).
# Minibatches are widened to that with weight-0 rows (the same step).
_PAD_COLUMNS = 16
LOSSES = ("cross_entropy", "mse")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Static training settings (shapes and step counts; one compiled program each).

    Attributes:
      epochs: passes over each model's training rows.
      batch_size: minibatch size per model.
      optimizer: one of ``OPTIMIZERS`` (``"momentum"`` is SGD with momentum 0.9).
      loss: ``"cross_entropy"`` (classification) or ``"mse"`` (regression,
        ``apply`` returning ``[n]`` or ``[n, 1]``).
      l2_on_bias: include biases in the L2 penalty (default: kernels only).
      progress: show a progress bar over epochs.
    """

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    loss: str = "cross_entropy"
    l2_on_bias: bool = False
    progress: bool = False

    def __post_init__(self):
        _validate.positive("epochs", self.epochs)
        _validate.positive("batch_size", self.batch_size)
        _validate.one_of("optimizer", self.optimizer, OPTIMIZERS)
        _validate.one_of("loss", self.loss, LOSSES)


class Hyper(NamedTuple):
    """Numeric hyperparameters; each is a scalar, or ``[K]`` in ``fit_many``.

    Attributes:
      learning_rate: optimizer step size.
      l2: L2 penalty weight. Convention: a loss penalty
        ``l2 / 2 * sum(w ** 2)`` over kernels (and biases with
        ``TrainConfig.l2_on_bias``) added to the mean loss of the minibatch;
        not decoupled weight decay.
    """

    learning_rate: Any = 1e-3
    l2: Any = 0.0


class History(NamedTuple):
    loss: jax.Array  # float32 [epochs] (or [K, epochs]): mean training loss per epoch


def _direction(name: str) -> optax.GradientTransformation:
    """The optimizer without its learning rate: ``update = -lr * direction``.

    ``optax.adam(lr)`` is ``chain(scale_by_adam(), scale_by_learning_rate(lr))``
    and ``optax.sgd(lr, momentum)`` is ``chain(trace(momentum), ...)``, so
    scaling by a per-model ``lr`` afterwards gives the same updates while the
    learning rate stays a traced value (no recompilation for new values).
    """
    if name == "adam":
        return optax.scale_by_adam()
    if name == "sgd":
        return optax.identity()
    return optax.trace(decay=0.9)


def l2_penalty(params: Params, include_bias: bool = False) -> jax.Array:
    """``sum(w ** 2) / 2`` over kernels (leaves with ndim >= 2) or all leaves."""
    leaves = jax.tree_util.tree_leaves(params)
    return sum(0.5 * jnp.sum(jnp.square(p)) for p in leaves
               if include_bias or p.ndim >= 2)


def per_example_loss(name: str, out: jax.Array, y: jax.Array) -> jax.Array:
    """Per-row loss ``[n]``: softmax cross-entropy on logits, or squared error."""
    if name == "cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(out, y)
    out = out.reshape(out.shape[0])
    return jnp.square(out - y)


def _batches(order: jax.Array, weights: jax.Array, batch_size: int):
    """Pads an index order ``[..., m]`` to whole batches ``[..., nb, B]``;
    padded rows get weight 0."""
    m = order.shape[-1]
    nb = math.ceil(m / batch_size)
    pad = nb * batch_size - m
    if pad:
        order = jnp.concatenate([order, order[..., :pad]], axis=-1)
        weights = jnp.concatenate([weights, jnp.zeros_like(weights[..., :pad])], axis=-1)
    return order.reshape(order.shape[:-1] + (nb, batch_size)), weights.reshape(
        weights.shape[:-1] + (nb, batch_size))


def _pad_columns(idx: jax.Array, weights: jax.Array, multiple: int):
    """Widens minibatches ``[..., nb, B]`` to a multiple of ``multiple`` rows
    with weight-0 copies of each batch's first row (the same training step)."""
    b = idx.shape[-1]
    extra = -b % multiple if multiple > 1 else 0
    if not extra:
        return idx, weights
    first = jnp.broadcast_to(idx[..., :1], idx.shape[:-1] + (extra,))
    return (jnp.concatenate([idx, first], axis=-1),
            jnp.concatenate([weights, jnp.zeros(weights.shape[:-1] + (extra,),
                                                weights.dtype)], axis=-1))


def _perm_key(key: jax.Array, epoch: jax.Array) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(key, 1), epoch)


# Orders of up to this many rows sort one packed uint32 per row (see _shuffle).
_PACKED_ROWS = 2 ** 12


def _shuffle(bits: jax.Array, last: jax.Array | None = None) -> jax.Array:
    """A random permutation of ``range(m)`` from ``bits`` (uint32 ``[m]``, one
    draw per position); positions where ``last`` is True come after all others.

    XLA:CPU sorts one uint32 array about 5x faster than ``argsort`` sorts a
    float key with its index, so for ``m <= 4096`` each position's key packs
    ``last`` (top bit), its draw's top ``31 - log2(m)`` (>= 19) bits and its
    index (low bits, which make keys unique and give the permutation); two
    positions whose draws agree on those bits (about m^2 / 2^(32 - log2 m)
    pairs, ~3 of 2,500 rows an epoch) keep their index order. Longer orders
    sort the draws with ``argsort``.
    """
    m = bits.shape[-1]
    if m > _PACKED_ROWS:
        key = bits >> 1 if last is None else jnp.where(last, jnp.uint32(2 ** 31), bits >> 1)
        return jnp.argsort(key).astype(jnp.int32)
    ib = max(1, (m - 1).bit_length())                       # index bits
    key = ((bits >> (ib + 1)) << ib) | jnp.arange(m, dtype=jnp.uint32)
    if last is not None:
        key = key | (last.astype(jnp.uint32) << 31)
    return (jnp.sort(key) & jnp.uint32(2 ** ib - 1)).astype(jnp.int32)


def random_order(key: jax.Array, m: int, last: jax.Array | None = None) -> jax.Array:
    """A random permutation of ``range(m)`` (int32 ``[m]``), jittable; with a
    bool ``last [m]``, the positions where it is True come after all others
    (padding rows last). The epoch order of :func:`fit` and :func:`fit_many`;
    on XLA:CPU about 5x faster than ``argsort`` of uniform draws for
    ``m <= 4096``.
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"Expected m to be a positive int (the number of rows); got {m!r}.")
    if last is not None:
        shape, dtype = jnp.shape(last), jnp.result_type(last)
        if shape != (m,) or dtype != jnp.bool_:
            raise ValueError(f"Expected last to be a bool array of shape ({m},); got "
                             f"{dtype} of shape {shape}.")
    return _shuffle(jax.random.bits(key, (int(m),), jnp.uint32), last)


def _order(perm_key: jax.Array, n: int, rows: jax.Array, w: jax.Array):
    """One model's epoch order: its member rows (``w > 0``) in random order, then
    padding. Draws one number per data row, so the order depends on the key and
    the members only (not on K or on other models' member counts)."""
    bits = jax.random.bits(perm_key, (n,), jnp.uint32)[rows]
    perm = _shuffle(bits, w <= 0)
    return rows[perm], w[perm]


def _epoch_loss(losses: jax.Array, wsum: jax.Array) -> jax.Array:
    """Mean data loss over an epoch's member rows from per-batch means ``[..., nb]``."""
    return jnp.sum(losses * wsum, axis=-1) / jnp.maximum(jnp.sum(wsum, axis=-1), 1e-9)


class _Program(NamedTuple):
    init: Callable  # (keys[K], x1[1, d], params | None) -> carry; compiled unoptimised
    init_large: Callable  # the same, optimised (for models with many parameters)
    run: Callable   # (carry, keys, hyper, x, y, rows, row_w, masks, start, stop, losses)
    unwide: Callable  # carry params -> stacked params [K, ...]


@functools.lru_cache(maxsize=64)
def _program(init_params: Callable, apply: Callable, config: TrainConfig,
             mode: str, wide: Any, chain: int = 0, skip_empty: bool = True) -> _Program:
    """The compiled training program for one architecture, config and data path.

    ``mode`` is ``"shared"`` (one minibatch order, no masks), ``"shared_masked"``
    (one order, per-model row weights) or ``"masked"`` (per-model orders).
    ``wide`` is a ``_wide.DenseStack`` for the wide-layout fast path, or None.
    ``chain`` > 0 (``"masked"`` only): the K models train as K / chain
    sub-groups one after the other (see ``_chain_size``). ``skip_empty``
    (``"masked"``): some model has whole minibatches of padding, which must
    leave it untouched (else no step needs the check). Cached, so repeated
    calls reuse the same jitted functions (and jit's own cache keyed on
    shapes).
    """
    tx = _direction(config.optimizer)
    bs = config.batch_size

    def loss_one(params, xb, yb, wb, l2):
        out = apply(params, xb)
        per = per_example_loss(config.loss, out, yb)
        data = jnp.sum(wb * per) / jnp.maximum(jnp.sum(wb), 1.0)
        return data + l2 * l2_penalty(params, config.l2_on_bias), data

    def step_one(params, opt_state, xb, yb, wb, hyper, skip_empty):
        (_, data), grads = jax.value_and_grad(loss_one, has_aux=True)(
            params, xb, yb, wb, hyper.l2)
        direction, new_opt = tx.update(grads, opt_state, params)
        new_params = jax.tree_util.tree_map(
            lambda p, d: p - hyper.learning_rate * d, params, direction)
        if skip_empty:
            # A minibatch with no member rows (padding) leaves the model untouched.
            live = jnp.sum(wb) > 0
            keep = lambda new, old: jnp.where(live, new, old)
            new_params = jax.tree_util.tree_map(keep, new_params, params)
            new_opt = jax.tree_util.tree_map(keep, new_opt, opt_state)
        return new_params, new_opt, data

    def init(keys, x1, params):
        def one(k, p):
            p = init_params(jax.random.fold_in(k, 0), x1) if p is None else p
            return p

        if params is None:
            p = jax.vmap(lambda k: one(k, None))(keys)
        else:  # copies, so donating the carry never frees the caller's arrays
            p = jax.tree_util.tree_map(lambda a: jnp.array(a, copy=True), params)
        if wide is not None:
            p = wide.to_wide(p)
            return p, wide.init_opt(config.optimizer, p)
        return p, jax.vmap(tx.init)(p)

    def epoch_shared(carry, order_key, hyper, x, y, masks, e):
        n = x.shape[0]
        num_models = hyper.learning_rate.shape[0]
        order = _shuffle(jax.random.bits(_perm_key(order_key, e), (n,), jnp.uint32))
        idx, valid = _batches(order, jnp.ones((n,), jnp.float32), bs)   # [nb, B]
        if wide is not None:  # the features-major products want B a multiple of 16
            idx, valid = _pad_columns(idx, valid, _PAD_COLUMNS)
        ys = y[idx]                                                     # [nb, B]
        if masks is None:
            ws, w_axis = valid, None
            wsum = jnp.broadcast_to(valid.sum(-1), (num_models, idx.shape[0]))
        else:
            ws = jnp.swapaxes(masks[:, idx], 0, 1) * valid[:, None]     # [nb, K, B]
            w_axis = 0
            wsum = ws.sum(-1).T                                         # [K, nb]

        # Each step gathers its own rows, x[i] [B, d]: gathering the epoch's
        # minibatches up front costs a 6 MB copy per epoch and chunk at
        # purchase size (2,500 x 600), plus a slice copy per step.
        if wide is not None:
            def body(c, b):
                i, yb, wb = b
                p, o, data = wide.step(config, c[0], c[1], x[i], yb, wb, hyper)
                return (p, o), data
        else:
            def body(c, b):
                i, yb, wb = b
                step = jax.vmap(functools.partial(step_one, skip_empty=masks is not None),
                                in_axes=(0, 0, None, None, w_axis, 0))
                p, o, data = step(c[0], c[1], x[i], yb, wb, hyper)
                return (p, o), data

        carry, losses = jax.lax.scan(body, carry, (idx, ys, ws))        # losses [nb, K]
        return carry, _epoch_loss(losses.T, wsum)

    def epoch_masked(carry, keys, hyper, x, y, rows, row_w, e):
        n = x.shape[0]
        perm_keys = jax.vmap(lambda k: _perm_key(k, e))(keys)
        idx, w = jax.vmap(lambda k, r, rw: _order(k, n, r, rw))(perm_keys, rows, row_w)
        idx, w = _batches(idx, w, bs)                                   # [K, nb, B]
        idx, w = jnp.swapaxes(idx, 0, 1), jnp.swapaxes(w, 0, 1)         # [nb, K, B]
        if wide is not None:
            step = functools.partial(wide.step, config, skip_empty=skip_empty)
        else:
            step = jax.vmap(functools.partial(step_one, skip_empty=skip_empty),
                            in_axes=(0, 0, 0, 0, 0, 0))

        def body(c, b):
            i, wb = b
            p, o, data = step(c[0], c[1], x[i], y[i], wb, hyper)        # x[i]: [K, B, d]
            return (p, o), data

        carry, losses = jax.lax.scan(body, carry, (idx, w))
        return carry, _epoch_loss(losses.T, w.sum(-1).T)

    def run(carry, keys, hyper, x, y, rows, row_w, masks, start, stop, losses):
        # keys: [K] per-model keys ("masked"), or the one key of the shared order.
        num_models = hyper.learning_rate.shape[0]
        if chain and num_models > chain:
            # Model-major: each sub-group of `chain` models runs all of this
            # call's epochs while its state is in cache, then the next.
            groups = num_models // chain
            split = lambda a: a.reshape((groups, chain) + a.shape[1:])
            merge = lambda a: a.reshape((num_models,) + a.shape[2:])
            parts = jax.tree_util.tree_map(split, (carry, keys, hyper, rows, row_w, losses))

            def one_group(part):
                c, k, h, r, rw, buf = part
                return run_all(c, k, h, x, y, r, rw, masks, start, stop, buf)

            return jax.tree_util.tree_map(merge, jax.lax.map(one_group, parts))
        return run_all(carry, keys, hyper, x, y, rows, row_w, masks, start, stop, losses)

    def run_all(carry, keys, hyper, x, y, rows, row_w, masks, start, stop, losses):
        def one_epoch(e, state):
            c, buf = state
            if mode == "masked":
                c, loss = epoch_masked(c, keys, hyper, x, y, rows, row_w, e)
            else:
                c, loss = epoch_shared(c, keys, hyper, x, y, masks, e)
            return c, jax.lax.dynamic_update_index_in_dim(buf, loss, e, axis=1)

        return jax.lax.fori_loop(start, stop, one_epoch, (carry, losses))

    def unwide(p):
        return p if wide is None else wide.from_wide(p)

    # init and unwide run once per call: compile them fast (unoptimised code is
    # seconds quicker to build and costs milliseconds here, except for the
    # random draws of large models: ``init_large``); run is the hot loop.
    quick = {"xla_backend_optimization_level": 0}
    hot = _CPU_RUN_OPTIONS if jax.default_backend() == "cpu" else None
    return _Program(jax.jit(init, compiler_options=quick), jax.jit(init),
                    jax.jit(run, donate_argnums=(0, 10), compiler_options=hot),
                    jax.jit(unwide, compiler_options=quick))


# XLA:CPU emits its elementwise loops (activations, the loss, the optimizer
# update) with 256-bit vectors unless told otherwise, even where the CPU has
# 512-bit ones. Preferring 512 makes the hot loop ~3% faster on the 2-core
# AVX-512 development machine (fit_many purchase-sized, same process,
# alternating); where the CPU has no 512-bit vectors LLVM keeps what it has.
_CPU_RUN_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


# On CPU, K models train in chunks whose parameters, gradients and optimizer
# state fit in this many bytes (three quarters of this machine class's L3 cache):
# past that every step streams the whole state from memory and the update,
# not the matmuls, sets the pace. Accelerators train all K at once.
_CPU_CHUNK_BYTES = 24 * 2 ** 20


def _state_bytes(num_params: int, optimizer: str) -> int:
    """Bytes of one model's parameters, gradients and optimizer slots (float32)."""
    slots = {"adam": 2, "momentum": 1, "sgd": 0}[optimizer]
    return 4 * num_params * (2 + slots)


def _chain_size(num_models: int, num_params: int, optimizer: str, threads: int = 1) -> int:
    """Models per sub-group of a "masked" chunk on CPU (0: no sub-groups).
    Chunks running at once on ``threads`` host threads share the cache budget
    (measured, 32 shadow models on 2 threads: sub-groups of 1-2 models 1.1x
    faster than of 4)."""
    if jax.default_backend() != "cpu":
        return 0
    most = max(1, _CHAIN_BYTES // max(threads, 1) // _state_bytes(num_params, optimizer))
    if most >= num_models:
        return 0
    # The size in [most / 2, most] that pads the fewest models.
    return min(range(max(1, most // 2), most + 1),
               key=lambda c: (math.ceil(num_models / c) * c, -c))


def _auto_chunk(num_models: int, num_params: int, optimizer: str) -> int:
    """Models per chunk when the caller gives no ``chunk_size``: all of them on
    accelerators; on CPU as many as fit ``_CPU_CHUNK_BYTES``, in equal chunks."""
    if jax.default_backend() != "cpu":
        return num_models
    most = max(1, _CPU_CHUNK_BYTES // _state_bytes(num_params, optimizer))
    if most >= num_models:
        return num_models
    # The chunk size in [most / 2, most] that pads the fewest models.
    return min(range(max(1, most // 2), most + 1),
               key=lambda c: (math.ceil(num_models / c) * c, -c))


@functools.lru_cache(maxsize=64)
def _num_params(init_params: Callable, key: jax.ShapeDtypeStruct,
                x1: jax.ShapeDtypeStruct) -> int:
    """Parameters of one model (from shapes only; cached)."""
    shapes = jax.eval_shape(lambda k, x: init_params(jax.random.fold_in(k, 0), x), key, x1)
    return sum(math.prod(a.shape) for a in jax.tree_util.tree_leaves(shapes))


def _check_data(x, y, config: TrainConfig, num_classes: int | None,
                num_features: int | None):
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    if num_features is not None and x.shape[1] != num_features:
        raise ValueError(f"Expected x with {num_features} columns (the model's num_features);"
                         f" got x.shape={x.shape}.")
    if config.loss == "cross_entropy":
        y = _validate.array("y", y, ndim=1, dtype_kind="iu")
        if num_classes is not None:
            _validate.labels("y", y, num_classes)
    else:
        y = _validate.array("y", y, ndim=1, dtype_kind="fiu")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"Expected x and y with the same number of rows; got x.shape={x.shape},"
            f" y.shape={y.shape}.")
    return x, y


def _progress(total: int, desc: str, enabled: bool):
    from jaxpriv._progress import progress_bar

    return progress_bar(total=total, desc=desc, enabled=enabled)


def fit(
    key: jax.Array,
    model: Model,
    x: Any,
    y: Any,
    config: TrainConfig = TrainConfig(),
    hyper: Hyper = Hyper(),
    *,
    weights: Any | None = None,
    params: Params | None = None,
) -> tuple[Params, History]:
    """Trains one model with minibatch optax updates.

    The same compiled program as ``fit_many`` with K = 1: model k of
    ``fit_many(keys, ..., masks=masks)`` equals ``fit(keys[k], ...,
    weights=masks[k])``.

    Args:
      key: PRNG key for initialisation and minibatch order.
      model: a :class:`jaxpriv.models.Model`.
      x: float ``[n, d]`` training inputs.
      y: int ``[n]`` labels (or float ``[n]`` targets for ``loss="mse"``).
      config: static settings.
      hyper: numeric hyperparameters (scalars).
      weights: optional ``[n]`` per-row weights (a member mask: 0 drops a row).
      params: optional starting parameters (fine-tuning); else initialised.

    Returns:
      ``(params, History)``.
    """
    for f, h in zip(Hyper._fields, hyper):
        if np.ndim(h) != 0:
            raise ValueError(f"Expected a scalar hyper.{f} in fit; got shape {np.shape(h)}"
                             " (use fit_many for one value per model).")
    out, hist = fit_many(
        jnp.asarray(key)[None],
        model, x, y, config, hyper,
        masks=None if weights is None else np.asarray(weights)[None],
        params=None if params is None else jax.tree_util.tree_map(lambda p: p[None], params),
    )
    return jax.tree_util.tree_map(lambda p: p[0], out), History(hist.loss[0])


def fit_many(
    keys: jax.Array,
    model: Model,
    x: Any,
    y: Any,
    config: TrainConfig = TrainConfig(),
    hyper: Hyper = Hyper(),
    *,
    masks: Any | None = None,
    params: Params | None = None,
    chunk_size: int | None = None,
    shared_order: bool | None = None,
) -> tuple[Params, History]:
    """Trains K models of one architecture together, vmapped over models.

    Each model has its own init key, member mask and hyperparameters. With
    ``masks`` each model trains on its own member rows (its minibatches are
    drawn from them alone, in its own order, from its own key): model k equals
    ``fit(keys[k], ..., weights=masks[k])``. Without, all models train on all
    rows and share one minibatch order drawn from ``keys[0]`` (the fast path).

    Args:
      keys: ``[K]`` PRNG keys (e.g. ``jax.random.split(key, K)``).
      model: a :class:`jaxpriv.models.Model` (or ``(init, apply)`` pair).
      x: ``[n, d]`` inputs shared by all models.
      y: ``[n]`` labels.
      config: static settings, shared.
      hyper: :class:`Hyper` whose fields are scalars or ``[K]`` arrays.
      masks: optional ``[K, n]`` membership (bool or 0/1 weights); each row's
        weight multiplies its loss. Models may have different member counts.
      params: optional stacked starting parameters ``[K, ...]``.
      chunk_size: train at most this many models at a time (memory bound),
        one chunk after the other; the result is the same as without
        chunking. Without it, CPU chunks run at once on host threads.
      shared_order: force (True) or forbid (False) a shared minibatch order;
        default: shared exactly when ``masks`` is None.

    Returns:
      ``(params, History)`` with a leading ``[K]`` axis on every leaf;
      ``History.loss`` is ``[K, epochs]``.

    Example:
      >>> keys = jax.random.split(jax.random.key(0), 8)
      >>> params, hist = fit_many(keys, model, x, y, TrainConfig(epochs=5),
      ...                         Hyper(learning_rate=jnp.logspace(-4, -2, 8)))

    The compiled program is cached: calling again with new keys, data values,
    masks or hyperparameter values of the same shapes does not recompile.
    """
    from jaxpriv.training import _wide

    if not isinstance(config, TrainConfig):
        raise ValueError(f"Expected config to be a TrainConfig; got {type(config).__name__}.")
    keys = jnp.asarray(keys) if not isinstance(keys, jax.Array) else keys
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    if keys.ndim != (1 if typed else 2) or keys.shape[0] == 0:
        raise ValueError(f"Expected keys with a leading [K] axis, K >= 1; got shape {keys.shape}.")
    num_models = keys.shape[0]
    if isinstance(model, Model):
        init_params, apply = model.init, model.apply
        num_classes, num_features = model.num_classes, model.num_features
    elif isinstance(model, tuple) and len(model) == 2 and all(map(callable, model)):
        (init_params, apply), num_classes, num_features = model, None, None
    else:
        raise ValueError("Expected model to be a jaxpriv.models.Model or an (init, apply)"
                         f" pair; got {type(model).__name__}.")
    x, y = _check_data(x, y, config, num_classes, num_features)
    n = x.shape[0]
    hyper = Hyper(*hyper) if not isinstance(hyper, Hyper) else hyper
    hyper = Hyper(*(np.full((num_models,), h, np.float32) if np.ndim(h) == 0
                    else _validate.array(f"hyper.{f}", h, shape=(num_models,)).astype(np.float32)
                    for f, h in zip(Hyper._fields, hyper)))
    _validate.positive("hyper.learning_rate", hyper.learning_rate)
    _validate.positive("hyper.l2", hyper.l2, allow_zero=True)
    if masks is not None:
        masks = _validate.array("masks", masks, shape=(num_models, n),
                                dtype_kind="biuf").astype(np.float32)
        _validate.positive("masks", masks, allow_zero=True)
        empty = np.flatnonzero(masks.sum(axis=1) == 0)
        if empty.size:
            raise ValueError("Expected every model to have at least one member row in masks;"
                             f" got empty rows at {empty[:5].tolist()}.")
    if shared_order is None:
        shared_order = masks is None
    if not shared_order and masks is None:  # own orders over all rows
        masks = np.ones((num_models, n), np.float32)
    if chunk_size is not None:
        _validate.positive("chunk_size", chunk_size)
    if params is not None:
        bad = [p.shape for p in jax.tree_util.tree_leaves(params)
               if np.ndim(p) == 0 or np.shape(p)[0] != num_models]
        if bad:
            raise ValueError(f"Expected params leaves with a leading [K={num_models}] axis;"
                             f" got shapes {bad[:3]}.")

    num_params = _num_params(init_params, jax.ShapeDtypeStruct(keys.shape[1:], keys.dtype),
                             jax.ShapeDtypeStruct((1, x.shape[1]), jnp.float32))
    mode = "masked" if not shared_order else ("shared" if masks is None else "shared_masked")
    chain = _chain_size(num_models, num_params, config.optimizer) if mode == "masked" else 0
    threads = 1
    if chunk_size is not None:
        chunk = min(int(chunk_size), num_models)
        chain = _chain_size(chunk, num_params, config.optimizer) if chain else 0
    else:  # sub-groups keep the state in cache: then one chunk takes every model
        chunk = num_models if chain else _auto_chunk(num_models, num_params,
                                                     config.optimizer)
        # On CPU, independent chunks run at once on host threads (_parallel).
        threads = _parallel.host_threads()
        if threads > 1 and math.ceil(num_models / chunk) < threads:
            chunk = _parallel.split(num_models, threads)
            chain = (_chain_size(chunk, num_params, config.optimizer, threads)
                     if mode == "masked" else 0)
    if chain:  # whole sub-groups: a given chunk_size stays an upper bound
        chunk = (chunk // chain if chunk_size is not None else math.ceil(chunk / chain)) * chain
    fast = mode in ("shared", "masked") and config.loss == "cross_entropy" and _FAST_PATH
    wide = _wide.dense_stack(model) if fast else None
    if wide is not None and not chain:
        # Groups pay where the elementwise work is large; small models run
        # faster as one group (measured: K=64 64-32-10 digits MLPs).
        big = num_params * chunk >= _GROUP_MIN_PARAMS
        wide = _wide.grouped(wide, chunk,
                             _GROUPS if big and jax.default_backend() == "cpu" else 1)
    skip_empty = True
    if mode == "masked":
        # Member rows first: a model with m members draws its minibatches from
        # them alone; models with fewer members than the largest pad with
        # weight-0 rows. Rounded up to whole minibatches, so new masks with a
        # similar largest member count reuse the compiled program.
        bs = config.batch_size
        counts = (masks > 0).sum(axis=1)
        m = min(n, math.ceil(int(counts.max()) / bs) * bs)
        rows_all = np.argsort(~(masks > 0), axis=1, kind="stable")[:, :m].astype(np.int32)
        roww_all = np.take_along_axis(masks, rows_all, axis=1)
        # Whole padding minibatches need the per-step "skip" check.
        skip_empty = bool(np.any(-(-counts // bs) < math.ceil(m / bs)))
    base = dataclasses.replace(config, progress=False)  # progress does not change the program
    prog = _program(init_params, apply, base, mode, wide, chain, skip_empty)

    xj = jnp.asarray(x, jnp.float32)
    yj = jnp.asarray(y, jnp.int32 if config.loss == "cross_entropy" else jnp.float32)
    masks_j = None if masks is None else jnp.asarray(masks)

    # The last chunk is padded with copies of its last model (dropped below),
    # so every chunk runs the one compiled program.
    chunks = _parallel.padded_chunks(num_models, chunk)
    # With a bar, one call per epoch; without, one call for the whole run.
    step = 1 if config.progress else config.epochs

    def train_chunk(part):
        sl, live = part
        k_c = keys[sl]
        h_c = Hyper(*(jnp.asarray(h[sl]) for h in hyper))
        p0 = None if params is None else jax.tree_util.tree_map(lambda p: p[sl], params)
        init = prog.init if num_params * k_c.shape[0] < 2 ** 20 else prog.init_large
        carry = init(k_c, xj[:1], p0)
        losses = jnp.zeros((k_c.shape[0], config.epochs), jnp.float32)
        rows = row_w = None
        if mode == "masked":
            rows, row_w = jnp.asarray(rows_all[sl]), jnp.asarray(roww_all[sl])
        m_c = None if masks_j is None else masks_j[sl]
        for e in range(0, config.epochs, step):
            stop = min(e + step, config.epochs)
            run_keys = k_c if mode == "masked" else keys[0]  # one order for all chunks
            carry, losses = prog.run(carry, run_keys, h_c, xj, yj, rows, row_w, m_c,
                                     jnp.int32(e), jnp.int32(stop), losses)
            bar.update(stop - e)
        return _parallel.trim((prog.unwide(carry[0]), losses), live)

    with _progress(len(chunks) * config.epochs, f"training {num_models} model(s)",
                   config.progress) as bar:
        stacked, loss = _parallel.concat(_parallel.map_chunks(train_chunk, chunks, threads))
    return stacked, History(loss)


def predict_proba(apply_fn: Callable, params: Params, x: Any,
                  batch_size: int = 4096) -> jax.Array:
    """Softmax probabilities ``[n, c]``, in batches of ``batch_size`` rows."""
    x = jnp.asarray(x, jnp.float32)
    fn = _softmax_fn(apply_fn)
    return jnp.concatenate([fn(params, x[i:i + batch_size])
                            for i in range(0, x.shape[0], batch_size)], axis=0)


@functools.lru_cache(maxsize=64)
def _softmax_fn(apply_fn: Callable) -> Callable:
    return jax.jit(lambda p, xb: jax.nn.softmax(apply_fn(p, xb), axis=-1))


@functools.lru_cache(maxsize=64)
def _logits_many_fn(apply_fn: Callable) -> Callable:
    return jax.jit(jax.vmap(apply_fn, in_axes=(0, None)))


def accuracy(apply_fn: Callable, params: Params, x: Any, y: Any) -> float:
    """Share of rows whose argmax logit equals the label."""
    probs = predict_proba(apply_fn, params, x)
    return float(jnp.mean(jnp.argmax(probs, axis=-1) == jnp.asarray(y)))


def accuracy_many(apply_fn: Callable, params: Params, x: Any, y: Any) -> np.ndarray:
    """Accuracy of each of K stacked models: ``[K]``."""
    x = jnp.asarray(x, jnp.float32)
    logits = _logits_many_fn(apply_fn)(params, x)
    return np.asarray(jnp.mean(jnp.argmax(logits, -1) == jnp.asarray(y)[None], axis=-1))
