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

Two things make a sweep's K settings much cheaper together than apart:

* **One key for all models.** ``keys`` may be a single key instead of
  ``[K]`` keys: every model then starts from the same initialisation and draws
  the same per-model noise (common random numbers, what a sweep over one
  hyperparameter wants). The numbers are those of K copies of the key, but
  the vmapped program draws the initialisation and the noise once.
* **The Gram path for a wide first layer** (``StepConfig.first_layer``). With
  SGD or momentum (a linear update rule) and no gradient noise, every update of
  the first kernel ``W1 [d, h]`` is ``X_b^T delta_b`` for a minibatch ``X_b``
  of the training rows ``X [n, d]``, plus the L2 term ``l2 * W1``. So
  ``W1_t = c_t W1_0 + X^T A_t`` exactly, with a scalar ``c_t`` and
  ``A_t [n, h]``, and the first-layer output of a batch is
  ``X_b W1_t = c_t (X W1_0)[b] + (X X^T)[b] A_t``. Training updates
  ``(c, A)`` instead of ``W1`` (the optimizer sees the coefficients of the
  gradient in that basis, which is the same update because ``sgd`` and
  ``momentum`` are linear), ``X W1_0`` and ``X X^T`` are computed once, and a
  step costs ``O(B n h)`` instead of ``O(B d h)`` for the first layer; ``W1``
  is materialised at the end. It is the model plain training on ``W1`` gives,
  up to float32 rounding (the kernel trick of the representer theorem, applied
  to the optimizer's trajectory rather than its optimum). The caller supplies
  the gradient with respect to the first layer's output (:class:`GramSpec`).
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

from jaxpriv import _parallel, _validate
from jaxpriv._progress import progress_bar

Params = Any
SAMPLINGS = ("poisson", "fixed")
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("lecun", "model")
FIRST_LAYERS = ("auto", "dense", "gram")

# grad_fn(params, key, xb[B, d], yb[B], wb[B], hyper: dict of scalars, denom)
#   -> (grads like params, loss scalar)
GradFn = Callable[..., tuple[Params, jax.Array]]


class GramSpec(NamedTuple):
    """What the Gram path needs from a model (see the module docstring).

    Attributes:
      kernel_path: dict keys of the first Dense kernel ``W1 [d, h]`` in the
        parameters, e.g. ``("enc_0", "kernel")``; the model's output must
        depend on the input only through ``x @ W1``.
      pre_grad_fn: ``pre_grad_fn(params, key, pre[B, h], yb[B], wb[B], hyper,
        denom) -> (grads like params, d loss / d pre [B, h], loss scalar)``:
        the loss of ``grad_fn`` given the first layer's ``x_b @ W1`` (before its
        bias) instead of ``x_b``. It must not read ``params[kernel_path]``; its
        gradient there is ignored (the trainer forms the first-layer update
        from ``d loss / d pre`` and ``hyper["l2"]``, the weight of
        ``l2 / 2 |W1|^2``, when present).
    """

    kernel_path: tuple[str, ...]
    pre_grad_fn: Callable[..., tuple[Params, jax.Array, jax.Array]]


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
      first_layer: ``"dense"`` trains the first kernel as it is (given a
        :class:`GramSpec`, the first layer's product and weight gradient of
        all K models are then single matmuls in the kernel's stacked layout);
        ``"gram"`` trains it in the span of the training rows (the Gram path
        of the module docstring; needs ``optimizer`` ``"sgd"`` or ``"momentum"`` and a
        :class:`GramSpec`); ``"auto"`` takes ``"gram"`` when a spec is given,
        the optimizer is ``"sgd"`` or ``"momentum"`` and the input is wider
        than the number of training rows (``d > n``), else ``"dense"``.
        DP-SGD gives no spec (its noise is not in that span).
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
    first_layer: str = "auto"
    init: str = "lecun"
    progress: bool = False

    def __post_init__(self):
        _validate.one_of("init", self.init, INITS)
        _validate.one_of("first_layer", self.first_layer, FIRST_LAYERS)
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

    def use_gram(self, gram: GramSpec | None, n: int, d: int) -> bool:
        """Whether training takes the Gram path (see ``first_layer``)."""
        linear = self.optimizer in ("sgd", "momentum")
        if self.first_layer == "gram":
            if gram is None:
                raise ValueError("Expected a GramSpec with first_layer='gram' (the model's "
                                 "gradient with respect to its first layer's output); got none.")
            if not linear:
                raise ValueError("Expected optimizer='sgd' or 'momentum' with first_layer='gram' "
                                 f"(a linear update rule); got optimizer={self.optimizer!r}.")
            return True
        return self.first_layer == "auto" and gram is not None and linear and d > n


_BIG_GRADIENT = 1 << 22  # floats in one stacked gradient leaf (16 MB): see run()


def _tx(name: str) -> optax.GradientTransformation:
    # Learning-rate free: the update is scaled by each model's learning rate.
    if name == "adam":
        return optax.scale_by_adam()
    if name == "momentum":
        return optax.trace(decay=0.9)
    return optax.identity()


def _smallest(u: jax.Array, b: int) -> jax.Array:
    """Indices of the ``b`` smallest entries of ``u [n]`` in increasing order,
    ties to the lower index: the first ``b`` of a stable ``argsort(u)``, found
    by ``top_k`` about 4x faster on XLA:CPU (sorting 200 draws took a fifth of
    a one-model MID step)."""
    return jax.lax.top_k(-u, b)[1].astype(jnp.int32)


def sample_batch(key: jax.Array, n: int, config: StepConfig) -> tuple[jax.Array, jax.Array]:
    """One step's rows: indices ``[B]`` int32 and weights ``[B]`` (0 or 1).

    Poisson: row ``i`` is in the batch when ``u_i < batch_size / n``; the
    ``B`` rows with the smallest ``u`` are computed and the others have
    weight 0. Fixed: ``B`` distinct rows, all weight 1.
    """
    b = config.rows_per_step(n)
    u = jax.random.uniform(key, (n,))
    idx = _smallest(u, b)
    if config.sampling == "fixed":
        return idx, jnp.ones((b,), jnp.float32)
    q = config.batch_size / n
    return idx, (u[idx] < q).astype(jnp.float32)


class TrainState(NamedTuple):
    params: Params      # dense path: leaves [K, ...], kernels [..., d_in, K, d_out]
                        # (model_axes); Gram path: {"net": params with A [n, K, h] at
                        # the first kernel and every other leaf [K, ...], "scale": c [K]}
    opt_state: Any      # like params
    step: jax.Array     # int32 []
    frozen: Any = None  # Gram path: {"w0": W1_0 [d, K, h] or [d, h] (one key),
                        #             "h0": X W1_0 [n, K, h] or [n, h], "gram": X X^T [n, n]}


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


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        tree = tree[name]
    return tree


def _replace(tree: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of the nested dict ``tree`` with ``value`` at ``path``."""
    if not path:
        return value
    out = dict(tree)
    out[path[0]] = value if len(path) == 1 else _replace(tree[path[0]], path[1:], value)
    return out


def _broadcast(tree: Any, axes: Any, num_models: int) -> Any:
    """One model's tree repeated ``num_models`` times along ``axes``."""
    def one(leaf, a):
        leaf = jnp.expand_dims(leaf, a)
        shape = leaf.shape[:a] + (num_models,) + leaf.shape[a + 1:]
        return jnp.broadcast_to(leaf, shape)

    return jax.tree_util.tree_map(one, tree, axes)


@functools.lru_cache(maxsize=64)
def make_trainer(init_fn: Callable[[jax.Array, jax.Array], Params], grad_fn: GradFn,
                 config: StepConfig, gram: GramSpec | None = None):
    """Builds the three pure functions of a K-model training:

    * ``init(keys, x[n, d], num_models=None) -> TrainState``;
    * ``run(state, keys, data_key, hyper, x, y, num_steps) -> (state, loss[K, num_steps])``;
    * ``leading(state, x, per_model=False) -> params`` with a leading ``[K]``
      axis on every leaf (the state keeps kernels in the layout of
      :func:`model_axes`, and the Gram path keeps the first kernel as
      coefficients), or with ``per_model`` a tuple of K one-model trees.

    ``keys`` is ``[K]`` (one key per model) or a single key shared by every
    model (``init`` then needs ``num_models``); ``run`` must get the same kind
    as ``init``. ``hyper`` is a dict of ``[K]`` float32 arrays that must hold
    ``learning_rate``; the rest is passed to ``grad_fn`` per model. ``gram``
    enables the Gram path (``config.first_layer``). The functions are pure;
    the same arguments give the same function objects, so jitting them
    compiles once per shape.
    """
    tx = _tx(config.optimizer)

    def draw(k, x):
        if config.init == "model":
            return init_fn(jax.random.fold_in(k, 0), x[:1])
        return lecun_init(init_fn, jax.random.fold_in(k, 0), x[:1])

    def use_gram(x):
        return config.use_gram(gram, x.shape[0], x.shape[1])

    def one_init(k, x):
        """One model: (trained params, optimizer state, frozen or None)."""
        p = draw(k, x)
        if not use_gram(x):
            return p, tx.init(p), None
        w0 = _get(p, gram.kernel_path)
        a = jnp.zeros((x.shape[0], w0.shape[-1]), w0.dtype)
        p = {"net": _replace(p, gram.kernel_path, a), "scale": jnp.ones((), w0.dtype)}
        return p, tx.init(p), {"w0": w0, "h0": x @ w0}

    def axes(x):
        """Where the model axis sits in each stacked leaf of (params, opt_state, frozen).

        Dense path: see :func:`model_axes`. Gram path: only the coefficients
        ``A [n, K, h]`` (and their optimizer state, and ``W1_0``, ``X W1_0``)
        keep the model axis inside, so that ``(X X^T)[b] @ A`` is one matmul
        for all models and the batch's rows of ``A`` are contiguous; every
        other leaf is model-first, the layout of the per-model (batched)
        products of the deeper layers.
        """
        shapes = jax.eval_shape(one_init, jax.random.key(0), x)
        if not use_gram(x):
            return model_axes(shapes)

        def tree(params_like):
            zeros = jax.tree_util.tree_map(lambda _: 0, params_like)
            return {"net": _replace(zeros["net"], gram.kernel_path, 1), "scale": 0}

        p, o, fr = shapes
        opt_axes = jax.tree_util.tree_map(
            lambda sub: tree(sub) if isinstance(sub, dict) and "net" in sub else
            jax.tree_util.tree_map(lambda _: 0, sub),
            o, is_leaf=lambda sub: isinstance(sub, dict) and "net" in sub)
        return tree(p), opt_axes, jax.tree_util.tree_map(lambda _: 1, fr)

    def init(keys, x, num_models: int | None = None):
        ax = axes(x)
        if keys.ndim == 0:  # one key: draw once, repeat the trained leaves
            if num_models is None:
                raise ValueError("Expected num_models with a single (shared) key.")
            params, opt_state, frozen = one_init(keys, x)
            params = _broadcast(params, ax[0], num_models)
            opt_state = _broadcast(opt_state, ax[1], num_models)
        else:
            params, opt_state, frozen = jax.vmap(lambda k: one_init(k, x), out_axes=ax)(keys)
        if frozen is not None:
            frozen = dict(frozen, gram=x @ x.T)
        return TrainState(params, opt_state, jnp.zeros((), jnp.int32), frozen)

    def run(state, keys, data_key, hyper, x, y, num_steps: int):
        """Steps every model; ``state`` as :func:`init` made it."""
        n = x.shape[0]
        denom = float(config.batch_size if config.sampling == "poisson"
                      else config.rows_per_step(n))
        ax = axes(x)
        shared = keys.ndim == 0
        key_axis = None if shared else 0
        gram_path = use_gram(x)
        frozen = state.frozen

        def update(p, o, g, h):
            upd, o = tx.update(g, o, p)
            p = jax.tree_util.tree_map(lambda a, u: a - h["learning_rate"] * u, p, upd)
            return p, o

        def dense_grad(p, k, h, xb, yb, wb, step):
            k = jax.random.fold_in(jax.random.fold_in(k, 1), step)
            return grad_fn(p, k, xb, yb, wb, h, denom)

        def spec_grad(p, k, h, pre, yb, wb, step):
            """One model's gradient given its first-layer output; the first
            kernel's entry is d loss / d pre [B, h]."""
            k = jax.random.fold_in(jax.random.fold_in(k, 1), step)
            g, g_pre, loss = gram.pre_grad_fn(p, k, pre, yb, wb, h, denom)
            return _replace(g, gram.kernel_path, g_pre), loss

        def gram_grad(p, k, h, gb, h0b, yb, wb, step):
            """:func:`spec_grad` with the first layer's output from the Gram rows."""
            net = p["net"]
            pre = p["scale"] * h0b + gb @ _get(net, gram.kernel_path)
            return spec_grad(net, k, h, pre, yb, wb, step)

        def spec_dense_step(params, opt_state, step, xb, yb, wb):
            """The dense path for a model with a GramSpec: the first layer's
            product and weight gradient for all K models are single matmuls in
            the ``[d, K, h]`` layout the kernel is kept in (``xb @ W1[d, K*h]``
            and ``xb^T @ g_pre[B, K*h]``), and the rest of each model's
            gradient comes from ``pre_grad_fn``. Under ``vmap`` of the plain
            gradient XLA:CPU wrote the K weight gradients model-first and
            transposed them in the optimizer's pass: measured on the 2-core
            machine, a faces MID sweep chunk of 8 models with Adam (10,304 ->
            256 first layer) took 88 ms a step, three quarters of it in those
            transposing passes."""
            w1 = _get(params, gram.kernel_path)                        # [d, K, h]
            d_in, num, width = w1.shape
            pre = (xb @ w1.reshape(d_in, num * width)).reshape(xb.shape[0], num, width)
            g_axes = _replace(ax[0], gram.kernel_path, 1)
            g_net, loss = jax.vmap(
                spec_grad, in_axes=(ax[0], key_axis, 0, 1, None, None, None),
                out_axes=(g_axes, 0))(params, keys, hyper, pre, yb, wb, step)
            g_pre = _get(g_net, gram.kernel_path)                      # [B, K, h]
            l2 = hyper.get("l2", jnp.zeros_like(hyper["learning_rate"]))
            g_w1 = ((xb.T @ g_pre.reshape(xb.shape[0], num * width)).reshape(d_in, num, width)
                    + l2[None, :, None] * w1)
            g = _replace(g_net, gram.kernel_path, g_w1)
            params, opt_state = jax.vmap(update, in_axes=ax[:2] + (ax[0], 0),
                                         out_axes=ax[:2])(params, opt_state, g, hyper)
            return (params, opt_state, step + 1), loss

        def body(carry, _):
            params, opt_state, step = carry
            idx, wb = sample_batch(jax.random.fold_in(data_key, step), n, config)
            yb = y[idx]
            if not gram_path and gram is not None:
                return spec_dense_step(params, opt_state, step, x[idx], yb, wb)
            if not gram_path:
                xb = x[idx]
                g, loss = jax.vmap(
                    dense_grad, in_axes=(ax[0], key_axis, 0, None, None, None, None),
                    out_axes=(ax[0], 0))(params, keys, hyper, xb, yb, wb, step)
                if max(leaf.size for leaf in jax.tree_util.tree_leaves(g)) >= _BIG_GRADIENT:
                    # The K gradients written once in the parameters' layout:
                    # without the barrier XLA:CPU fused a transpose into each of
                    # the optimizer's passes (a DP-SGD chunk of 4 faces MLPs,
                    # 10,304 -> 256: 74 ms a step without it, 41 ms with it;
                    # small models ran about 3% slower with it, hence the size).
                    g = jax.lax.optimization_barrier(g)
                params, opt_state = jax.vmap(update, in_axes=ax[:2] + (ax[0], 0),
                                             out_axes=ax[:2])(params, opt_state, g, hyper)
                return (params, opt_state, step + 1), loss
            # Gram path: the batch's rows of X X^T and of X W1_0, shared by all models.
            gb = frozen["gram"][idx]                                   # [B, n]
            h0b = frozen["h0"][idx]                                    # [B, (K,) h]
            g_axes = ax[0]["net"]
            g_net, loss = jax.vmap(
                gram_grad, in_axes=(ax[0], key_axis, 0, None, None if h0b.ndim == 2 else 1,
                                    None, None, None),
                out_axes=(g_axes, 0))(params, keys, hyper, gb, h0b, yb, wb, step)
            # The first kernel's update X_b^T g_pre (+ l2 W1) in coefficients: row idx
            # of A gets g_pre, for all models at once in the [n, K, h] layout (a
            # scatter under vmap would move the model axis first and back each step).
            a = _get(params["net"], gram.kernel_path)                  # [n, K, h]
            l2 = hyper.get("l2", jnp.zeros_like(hyper["learning_rate"]))
            g_a = (jnp.zeros_like(a).at[idx].add(_get(g_net, gram.kernel_path))
                   + l2[None, :, None] * a)
            g = {"net": _replace(g_net, gram.kernel_path, g_a),
                 "scale": l2 * params["scale"]}
            params, opt_state = jax.vmap(update, in_axes=ax[:2] + (ax[0], 0),
                                         out_axes=ax[:2])(params, opt_state, g, hyper)
            return (params, opt_state, step + 1), loss

        (params, opt_state, step), losses = jax.lax.scan(
            body, (state.params, state.opt_state, state.step), None, length=num_steps)
        return TrainState(params, opt_state, step, frozen), losses.T

    def leading(state, x, per_model: bool = False):
        """Model-first parameters; with ``per_model`` a tuple of K one-model trees.

        ``per_model`` gives every model's parameters their own buffers (no
        ``[K]`` axis): a sweep hands each setting on by itself, and on a CPU
        writing the K first kernels into one ``[K, d, h]`` buffer was slower
        (measured on the 2-core machine, a 16-setting MID sweep on the AT&T
        faces as two chunks at once: 196 ms stacked, 175 ms per model; the
        large fresh buffer costs page faults that buffers of one model's size,
        reused by the allocator, do not).
        """
        if not use_gram(x):
            out = to_leading(state.params, axes(x)[0])
            if not per_model:
                return out
            num = jax.tree_util.tree_leaves(out)[0].shape[0]
            return tuple(jax.tree_util.tree_map(lambda leaf, k=k: leaf[k], out)
                         for k in range(num))
        net, scale = state.params["net"], state.params["scale"]
        a = _get(net, gram.kernel_path)                       # [n, K, h]
        w0 = state.frozen["w0"]                                # [d, K, h] or [d, h]

        def one(k):
            w0_k = w0 if w0.ndim == 2 else w0[:, k]
            return x.T @ a[:, k] + scale[k] * w0_k

        if per_model:  # the other leaves are model-first
            others = _replace(net, gram.kernel_path, None)
            return tuple(_replace(jax.tree_util.tree_map(lambda leaf, k=k: leaf[k], others),
                                  gram.kernel_path, one(k)) for k in range(a.shape[1]))
        # One model at a time (a loop): each W1 is written in place into the
        # model-first result, and W1_0 is read from memory, where a single
        # einsum would transpose K*d*h floats and (XLA:CPU fusing the shared
        # W1_0's draw into the sum) redo its erfinv K times.
        w1 = jax.lax.map(one, jnp.arange(a.shape[1]))            # [K, d, h]
        return _replace(net, gram.kernel_path, w1)   # the other leaves are model-first

    return init, run, leading


@functools.lru_cache(maxsize=64)
def _jitted(init_fn, grad_fn, config: StepConfig, gram: GramSpec | None = None):
    init, run, leading = make_trainer(init_fn, grad_fn, config, gram)
    return jax.jit(init, static_argnums=2), jax.jit(run, static_argnums=6), jax.jit(leading)


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
    gram: GramSpec | None = None,
    desc: str = "training",
) -> tuple[Params, jax.Array]:
    """Trains K models; returns ``(params [K, ...], loss [K, steps])``.

    Args:
      keys: ``[K]`` per-model keys (init and per-model noise), or one key
        shared by all K models (same init and noise, drawn once).
      data_key: the key of the shared minibatch draws.
      init_fn, grad_fn: see :func:`make_trainer` (reuse the same objects to
        reuse the compiled program).
      x: ``[n, d]`` inputs; y: ``[n]`` labels.
      config: :class:`StepConfig`.
      hyper: dict of ``[K]`` arrays (``learning_rate`` and what ``grad_fn`` reads).
      gram: the model's :class:`GramSpec` (enables ``config.first_layer``
        ``"gram"`` / ``"auto"``).
    """
    xj = jnp.asarray(x, jnp.float32)
    yj = jnp.asarray(y)
    num_models = int(np.shape(hyper["learning_rate"])[0])
    init_j, run_j, leading_j = _jitted(init_fn, grad_fn, config, gram)
    # On CPU the models train as chunks at once on host threads (jaxpriv._parallel);
    # every model's numbers are those of one call (its key and hyperparameters).
    per = _parallel.split(num_models)
    chunks = _parallel.padded_chunks(num_models, per)

    def train(part):
        sl, live = part
        k_c = keys if keys.ndim == 0 else keys[sl]
        h_c = {name: jnp.asarray(v)[sl] for name, v in hyper.items()}
        state = init_j(k_c, xj, per)
        losses = []
        done = 0
        while done < config.steps:
            m = min(config.steps_per_call, config.steps - done)
            state, loss = run_j(state, k_c, data_key, h_c, xj, yj, m)
            losses.append(loss)
            done += m
            bar.update(m)
        return _parallel.trim((leading_j(state, xj), jnp.concatenate(losses, axis=1)), live)

    with progress_bar(config.steps * len(chunks), desc, config.progress) as bar:
        return _parallel.concat(_parallel.map_chunks(train, chunks))


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
