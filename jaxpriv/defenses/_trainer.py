"""A step-based trainer for K models at once, shared by DP-SGD, MID and sweeps.

One model's training is ``lax.scan`` over steps; ``vmap`` adds the model axis.
Every step draws one minibatch from a key that all K models share (Poisson
or fixed-size sampling), so the K models read the same rows and the first
layer of all K models is one wide matmul. Per-model randomness (init, DP
noise, MID's sampled code) comes from per-model keys. The per-step gradient
is a function the caller supplies (``grad_fn``); numeric hyperparameters are
``[K]`` arrays, so one compiled program serves every setting of a sweep.

Because the model axis only ever appears as a ``vmap`` axis, the program
shards over it with ``jax.sharding`` without any communication between
models (see :func:`jaxpriv.experiments.sweep.run_sweep`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv._progress import progress_bar

Params = Any
SAMPLINGS = ("poisson", "fixed")
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("lecun", "model")

# grad_fn(params, key, xb[B, d], yb[B], wb[B], hyper: dict of scalars, denom)
#   -> (grads like params, loss scalar)
GradFn = Callable[..., tuple[Params, jax.Array]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StepConfig:
    """Static settings of the step-based trainer.

    Attributes:
      steps: number of optimizer steps (each one minibatch).
      batch_size: rows per step (``"fixed"``) or the expected number of rows
        per step (``"poisson"``: each row joins a step's batch independently
        with probability ``batch_size / n``).
      sampling: ``"poisson"`` or ``"fixed"`` (``batch_size`` rows drawn
        uniformly without replacement at each step).
      max_batch_size: Poisson only: rows computed per step (default
        ``batch_size + 4 sqrt(batch_size) + 8``); a step with more sampled rows
        keeps the ``max_batch_size`` of them with the smallest draws (the
        chance of that is below 1e-4 at the default).
      optimizer: ``"sgd"``, ``"momentum"`` (0.9) or ``"adam"``.
      steps_per_call: steps per compiled call (a progress-bar tick); the
        result does not depend on it.
      init: ``"lecun"`` draws every kernel (leaf with ndim >= 2) from
        Flax's default LeCun-normal (truncated normal, variance 1 / fan_in)
        and zeroes the other leaves, from the parameter shapes alone; for the
        Dense/Conv targets of ``jaxpriv.models`` that is the distribution of
        their own init, and it compiles several times faster than tracing the
        module's ``init`` under ``vmap``. ``"model"`` calls ``init_fn``.
      progress: show a progress bar.
    """

    steps: int = 500
    batch_size: int = 64
    sampling: str = "fixed"
    max_batch_size: int | None = None
    optimizer: str = "adam"
    steps_per_call: int = 100
    init: str = "lecun"
    progress: bool = False

    def __post_init__(self):
        _validate.one_of("init", self.init, INITS)
        _validate.positive("steps", self.steps)
        _validate.positive("batch_size", self.batch_size)
        _validate.one_of("sampling", self.sampling, SAMPLINGS)
        _validate.one_of("optimizer", self.optimizer, OPTIMIZERS)
        _validate.positive("steps_per_call", self.steps_per_call)
        if self.max_batch_size is not None and self.max_batch_size < self.batch_size:
            raise ValueError(f"Expected max_batch_size={self.max_batch_size} >= "
                             f"batch_size={self.batch_size}.")

    def rows_per_step(self, n: int) -> int:
        if self.sampling == "fixed":
            return min(self.batch_size, n)
        cap = self.max_batch_size or int(self.batch_size + 4 * math.sqrt(self.batch_size) + 8)
        return min(cap, n)


def _tx(name: str) -> optax.GradientTransformation:
    # Learning-rate free: the update is scaled by each model's learning rate.
    if name == "adam":
        return optax.scale_by_adam()
    if name == "momentum":
        return optax.trace(decay=0.9)
    return optax.identity()


def sample_batch(key: jax.Array, n: int, config: StepConfig) -> tuple[jax.Array, jax.Array]:
    """One step's rows: indices ``[B]`` int32 and weights ``[B]`` (0 or 1).

    Poisson: row ``i`` is in the batch when ``u_i < batch_size / n``; the
    ``B`` rows with the smallest ``u`` are computed and the others have
    weight 0. Fixed: ``B`` distinct rows, all weight 1.
    """
    b = config.rows_per_step(n)
    u = jax.random.uniform(key, (n,))
    idx = jnp.argsort(u)[:b].astype(jnp.int32)
    if config.sampling == "fixed":
        return idx, jnp.ones((b,), jnp.float32)
    q = config.batch_size / n
    return idx, (u[idx] < q).astype(jnp.float32)


class TrainState(NamedTuple):
    params: Params      # leaves [K, ...]
    opt_state: Any      # leaves [K, ...]
    step: jax.Array     # int32 []


def lecun_init(init_fn: Callable, key: jax.Array, x: jax.Array) -> Params:
    """Parameters shaped like ``init_fn(key, x)``: kernels (ndim >= 2) from
    LeCun-normal (truncated to 2 std, variance ``1 / fan_in`` with ``fan_in =
    prod(shape[:-1])``, Flax's default), everything else zero."""
    shapes = jax.eval_shape(init_fn, key, x)
    leaves, treedef = jax.tree_util.tree_flatten(shapes)
    kernels = [leaf for leaf in leaves if len(leaf.shape) >= 2]
    total = sum(math.prod(leaf.shape) for leaf in kernels)
    # One draw for all kernels (one random program to compile, not one per leaf).
    flat = jax.random.truncated_normal(key, -2.0, 2.0, (max(total, 1),), jnp.float32)
    out, start = [], 0
    for leaf in leaves:
        if len(leaf.shape) >= 2:
            size = math.prod(leaf.shape)
            std = math.sqrt(1.0 / math.prod(leaf.shape[:-1])) / 0.87962566103423978
            out.append((std * flat[start:start + size]).reshape(leaf.shape).astype(leaf.dtype))
            start += size
        else:
            out.append(jnp.zeros(leaf.shape, leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def model_axes(per_model: Any) -> Any:
    """The axis of the model dimension in each stacked leaf, as a vmap axes tree.

    A kernel of one model ``[..., d_in, d_out]`` is stacked as
    ``[..., d_in, K, d_out]`` (the model axis just before the output
    features); every other leaf as ``[K, ...]``. With that layout the K
    models' ``x @ W_k`` for a shared minibatch ``x`` is one matmul
    ``x @ W[d_in, K * d_out]`` in place, forward and backward, with no
    transposes of the stacked weights on every step (on a CPU those copies
    cost more than the matmul saves). :func:`to_leading` moves the axis to the
    front once training is done.
    """
    return jax.tree_util.tree_map(lambda leaf: len(leaf.shape) - 1 if len(leaf.shape) >= 2
                                  else 0, per_model)


def to_leading(stacked: Any, axes: Any) -> Any:
    """Moves the model axis of every leaf to the front (``[K, ...]``)."""
    return jax.tree_util.tree_map(lambda leaf, a: jnp.moveaxis(leaf, a, 0), stacked, axes)


@functools.lru_cache(maxsize=64)
def make_trainer(init_fn: Callable[[jax.Array, jax.Array], Params], grad_fn: GradFn,
                 config: StepConfig):
    """Builds ``init(keys[K], x[n, d]) -> TrainState`` and
    ``run(state, keys[K], data_key, hyper, x, y, num_steps) -> (state, loss[K, num_steps])``
    and ``leading(state, x) -> params`` with a leading ``[K]`` axis on every leaf
    (the state keeps kernels in the layout of :func:`model_axes`).

    ``hyper`` is a dict of ``[K]`` float32 arrays that must hold
    ``learning_rate``; the rest is passed to ``grad_fn`` per model. Both
    functions are pure; the same ``(init_fn, grad_fn, config)`` gives the same
    function objects, so jitting them compiles once per shape.
    """
    tx = _tx(config.optimizer)

    def one_init(k, x):
        if config.init == "model":
            p = init_fn(jax.random.fold_in(k, 0), x[:1])
        else:
            p = lecun_init(init_fn, jax.random.fold_in(k, 0), x[:1])
        return p, tx.init(p)

    def axes(x):
        # Where the model axis sits in each stacked leaf (see model_axes).
        return model_axes(jax.eval_shape(one_init, jax.random.key(0), x))

    def init(keys, x):
        params, opt_state = jax.vmap(lambda k: one_init(k, x), out_axes=axes(x))(keys)
        return TrainState(params, opt_state, jnp.zeros((), jnp.int32))

    def run(state, keys, data_key, hyper, x, y, num_steps: int):
        """Steps every model; ``state`` in the layout of :func:`model_axes`."""
        n = x.shape[0]
        denom = float(config.batch_size if config.sampling == "poisson"
                      else config.rows_per_step(n))

        def body(carry, _):
            params, opt_state, step = carry
            idx, wb = sample_batch(jax.random.fold_in(data_key, step), n, config)
            xb, yb = x[idx], y[idx]

            def one(p, o, k, h):
                g, loss = grad_fn(p, jax.random.fold_in(jax.random.fold_in(k, 1), step),
                                  xb, yb, wb, h, denom)
                upd, o = tx.update(g, o, p)
                p = jax.tree_util.tree_map(lambda a, u: a - h["learning_rate"] * u, p, upd)
                return p, o, loss

            ax = axes(x)
            params, opt_state, loss = jax.vmap(one, in_axes=ax + (0, 0),
                                               out_axes=ax + (0,))(params, opt_state, keys,
                                                                   hyper)
            return (params, opt_state, step + 1), loss

        (params, opt_state, step), losses = jax.lax.scan(
            body, (state.params, state.opt_state, state.step), None, length=num_steps)
        return TrainState(params, opt_state, step), losses.T

    def leading(state, x):
        return to_leading(state.params, axes(x)[0])

    return init, run, leading


@functools.lru_cache(maxsize=64)
def _jitted(init_fn, grad_fn, config: StepConfig):
    init, run, leading = make_trainer(init_fn, grad_fn, config)
    return jax.jit(init), jax.jit(run, static_argnums=6), jax.jit(leading)


def train_many(
    keys: jax.Array,
    data_key: jax.Array,
    init_fn: Callable,
    grad_fn: GradFn,
    x: Any,
    y: Any,
    config: StepConfig,
    hyper: dict[str, Any],
    *,
    desc: str = "training",
) -> tuple[Params, jax.Array]:
    """Trains K models; returns ``(params [K, ...], loss [K, steps])``.

    Args:
      keys: ``[K]`` per-model keys (init and per-model noise).
      data_key: the key of the shared minibatch draws.
      init_fn, grad_fn: see :func:`make_trainer` (reuse the same objects to
        reuse the compiled program).
      x: ``[n, d]`` inputs; y: ``[n]`` labels.
      config: :class:`StepConfig`.
      hyper: dict of ``[K]`` arrays (``learning_rate`` and what ``grad_fn`` reads).
    """
    xj = jnp.asarray(x, jnp.float32)
    yj = jnp.asarray(y)
    init_j, run_j, leading_j = _jitted(init_fn, grad_fn, config)
    state = init_j(keys, xj)
    losses = []
    with progress_bar(config.steps, desc, config.progress) as bar:
        done = 0
        while done < config.steps:
            m = min(config.steps_per_call, config.steps - done)
            state, loss = run_j(state, keys, data_key, hyper, xj, yj, m)
            losses.append(loss)
            done += m
            bar.update(m)
    return leading_j(state, xj), jnp.concatenate(losses, axis=1)


def as_hyper(num_models: int, **values: Any) -> dict[str, jax.Array]:
    """Broadcasts scalars or ``[K]`` arrays to a dict of float32 ``[K]`` arrays."""
    out = {}
    for name, v in values.items():
        arr = np.asarray(v, np.float32)
        if arr.ndim == 0:
            arr = np.full((num_models,), arr, np.float32)
        _validate.array(name, arr, shape=(num_models,))
        out[name] = jnp.asarray(arr)
    return out
