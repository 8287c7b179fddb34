"""Jitted training with optax: one model (``fit``) or K models at once (``fit_many``).

An epoch is one ``lax.scan`` over minibatches. ``fit_many`` writes the training
of one model and ``vmap``s it over K models: their keys, member masks and
numeric hyperparameters (learning rate, L2 weight, ...). When every model
trains on the same rows, the models share one minibatch order, so the first
layer of all K models is a single wide matmul (JAX folds the model axis of
``x @ W[k]`` into the output columns when ``x`` is shared).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv.models import Model

Params = Any

OPTIMIZERS = ("adam", "sgd", "momentum")
LOSSES = ("cross_entropy", "mse")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Static training settings (shapes and step counts; one compiled program each).

    Attributes:
      epochs: passes over each model's training rows.
      batch_size: minibatch size per model.
      optimizer: one of ``OPTIMIZERS``.
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
    loss: jax.Array  # float32 [epochs] (or [K, epochs]): mean training loss


def _optimizer(name: str) -> Callable[[Any], optax.GradientTransformation]:
    if name == "adam":
        return optax.inject_hyperparams(optax.adam)
    if name == "sgd":
        return optax.inject_hyperparams(optax.sgd)
    return optax.inject_hyperparams(lambda learning_rate: optax.sgd(learning_rate, momentum=0.9))


def l2_penalty(params: Params, include_bias: bool = False) -> jax.Array:
    """``sum(w ** 2) / 2`` over kernels (leaves with ndim >= 2) or all leaves."""
    leaves = jax.tree_util.tree_leaves(params)
    return sum(0.5 * jnp.sum(jnp.square(p)) for p in leaves
               if include_bias or p.ndim >= 2)


def per_example_loss(name: str, out: jax.Array, y: jax.Array) -> jax.Array:
    if name == "cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(out, y)
    out = out.reshape(out.shape[0])
    return jnp.square(out - y)


def _make_train_fns(model: Model | tuple, config: TrainConfig):
    """Pure one-model functions: ``init_state``, ``epoch``."""
    apply = model.apply if isinstance(model, Model) else model[1]
    opt_factory = _optimizer(config.optimizer)

    def loss_fn(params, xb, yb, wb, l2):
        out = apply(params, xb)
        per = per_example_loss(config.loss, out, yb)
        data = jnp.sum(wb * per) / jnp.maximum(jnp.sum(wb), 1.0)
        return data + l2 * l2_penalty(params, config.l2_on_bias), data

    def init_opt(params, lr):
        return opt_factory(learning_rate=lr).init(params)

    def step(carry, batch, hyper):
        params, opt_state = carry
        xb, yb, wb = batch
        (_, data_loss), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, xb, yb, wb, hyper.l2)
        tx = opt_factory(learning_rate=hyper.learning_rate)
        updates, new_opt_state = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        # A minibatch with no member rows (padding) leaves the model untouched.
        live = jnp.sum(wb) > 0
        keep = lambda new, old: jnp.where(live, new, old)
        params = jax.tree_util.tree_map(keep, new_params, params)
        opt_state = jax.tree_util.tree_map(keep, new_opt_state, opt_state)
        return (params, opt_state), data_loss

    return init_opt, step


def _batches(order: jax.Array, weights: jax.Array, batch_size: int):
    """Pads an index order to whole batches; padded rows get weight 0."""
    m = order.shape[-1]
    nb = math.ceil(m / batch_size)
    pad = nb * batch_size - m
    if pad:
        order = jnp.concatenate([order, order[..., :pad]], axis=-1)
        weights = jnp.concatenate([weights, jnp.zeros_like(weights[..., :pad])], axis=-1)
    return order.reshape(order.shape[:-1] + (nb, batch_size)), weights.reshape(
        weights.shape[:-1] + (nb, batch_size))


def _check_data(x, y, config: TrainConfig, num_classes: int | None):
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
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
    out, hist = fit_many(
        key[None],
        model, x, y, config,
        Hyper(*(jnp.asarray(h, jnp.float32)[None] for h in hyper)),
        masks=None if weights is None else np.asarray(weights, np.float32)[None],
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
    drawn from them alone, in its own order); without, all models train on all
    rows and share one minibatch order (the fast path).

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
      chunk_size: train at most this many models at a time (memory bound).
      shared_order: force (True) or forbid (False) a shared minibatch order;
        default: shared exactly when ``masks`` is None.

    Returns:
      ``(params, History)`` with a leading ``[K]`` axis on every leaf.

    Example:
      >>> keys = jax.random.split(jax.random.key(0), 8)
      >>> params, hist = fit_many(keys, model, x, y, TrainConfig(epochs=5),
      ...                         Hyper(learning_rate=jnp.logspace(-4, -2, 8)))
    """
    keys = jnp.asarray(keys)
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    if keys.ndim != (1 if typed else 2):
        raise ValueError(f"Expected keys with a leading [K] axis; got shape {keys.shape}.")
    num_models = keys.shape[0]
    num_classes = model.num_classes if isinstance(model, Model) else None
    x, y = _check_data(x, y, config, num_classes)
    n = x.shape[0]
    hyper = Hyper(*(jnp.broadcast_to(jnp.asarray(h, jnp.float32), (num_models,))
                    if np.ndim(h) == 0 else _validate.array(
                        f"hyper.{f}", h, shape=(num_models,)).astype(np.float32)
                    for f, h in zip(Hyper._fields, hyper)))
    if masks is not None:
        masks = _validate.array("masks", masks, shape=(num_models, n),
                                dtype_kind="biuf").astype(np.float32)
        if np.any(masks.sum(axis=1) == 0):
            raise ValueError("Expected every model to have at least one member row in masks;"
                             f" got empty rows at {np.flatnonzero(masks.sum(axis=1) == 0)[:5]}.")
    if shared_order is None:
        shared_order = masks is None
    if chunk_size is not None:
        _validate.positive("chunk_size", chunk_size)
    chunk = num_models if chunk_size is None else min(chunk_size, num_models)

    init_opt, step = _make_train_fns(model, config)
    init_params = model.init if isinstance(model, Model) else model[0]
    xj = jnp.asarray(x, jnp.float32)
    yj = jnp.asarray(y)

    # Row order for each model: member rows first, so a model with m members
    # draws its minibatches from them alone. Models with fewer members pad with
    # weight-0 rows.
    if masks is None:
        m = n
        rows = np.broadcast_to(np.arange(n), (num_models, n))
        row_w = np.ones((num_models, n), np.float32)
    else:
        m = int(masks.astype(bool).sum(axis=1).max())
        order = np.argsort(~(masks > 0), axis=1, kind="stable")[:, :m]
        rows = order
        row_w = np.take_along_axis(masks, order, axis=1)
    rows = jnp.asarray(rows, jnp.int32)
    row_w = jnp.asarray(row_w, jnp.float32)
    w_full = jnp.asarray(np.ones((num_models, n), np.float32) if masks is None else masks)

    def epoch_one(carry, rows_k, w_k, perm_key, hyper_k):
        # One model's epoch: permute its member rows, scan over minibatches.
        # Order member rows by a per-row random draw (padding last), so a
        # model's order depends on its key and members only, not on K.
        u = jax.random.uniform(perm_key, (n,))[rows_k]
        perm = jnp.argsort(jnp.where(w_k > 0, u, 2.0))
        idx, wb = _batches(rows_k[perm], w_k[perm], config.batch_size)

        def body(c, b):
            i, w = b
            return step(c, (xj[i], yj[i], w), hyper_k)

        carry, losses = jax.lax.scan(body, carry, (idx, wb))
        wsum = jnp.maximum(wb.sum(axis=1), 1e-9)
        return carry, jnp.sum(losses * wsum) / jnp.sum(wsum)

    def epoch_shared(carry, perm_key, hyper_k, w_all):
        # All models share the minibatch order; x[idx] is not batched over models.
        perm = jax.random.permutation(perm_key, n)
        idx, valid = _batches(perm, jnp.ones((n,), jnp.float32), config.batch_size)

        def body(c, b):
            i, v = b
            xb, yb = xj[i], yj[i]

            def one(c_k, h_k, w_k):
                return step(c_k, (xb, yb, v * w_k[i]), h_k)

            return jax.vmap(one)(c, hyper_k, w_all)

        carry, losses = jax.lax.scan(body, carry, (idx, valid))
        return carry, losses.mean(axis=0)

    @jax.jit
    def init_chunk(keys_c, hyper_c, params_c):
        def one(k, h, p):
            p = init_params(jax.random.fold_in(k, 0), xj[:1]) if p is None else p
            return p, init_opt(p, h.learning_rate)

        if params_c is None:
            return jax.vmap(lambda k, h: one(k, h, None))(keys_c, hyper_c)
        return jax.vmap(one)(keys_c, hyper_c, params_c)

    @jax.jit
    def run_epoch(carry, keys_c, hyper_c, rows_c, w_c, w_full_c, epoch):
        if shared_order:
            perm_key = jax.random.fold_in(jax.random.fold_in(keys_c[0], 1), epoch)
            return epoch_shared(carry, perm_key, hyper_c, w_full_c)
        perm_keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, 1), epoch))(keys_c)
        return jax.vmap(epoch_one)(carry, rows_c, w_c, perm_keys, hyper_c)

    out_params, out_loss = [], []
    starts = list(range(0, num_models, chunk))
    with _progress(len(starts) * config.epochs, f"training {num_models} model(s)",
                   config.progress) as bar:
        for s in starts:
            sl = slice(s, s + chunk)
            hyper_c = Hyper(*(h[sl] for h in hyper))
            p0 = None if params is None else jax.tree_util.tree_map(lambda p: p[sl], params)
            carry = init_chunk(keys[sl], hyper_c, p0)
            losses = []
            for e in range(config.epochs):
                carry, loss = run_epoch(carry, keys[sl], hyper_c, rows[sl], row_w[sl],
                                        w_full[sl], jnp.int32(e))
                losses.append(loss)
                bar.update(1)
            out_params.append(carry[0])
            out_loss.append(jnp.stack(losses, axis=-1))
    stacked = jax.tree_util.tree_map(lambda *p: jnp.concatenate(p, axis=0), *out_params)
    return stacked, History(jnp.concatenate(out_loss, axis=0))


def predict_proba(apply_fn: Callable, params: Params, x: Any,
                  batch_size: int = 4096) -> jax.Array:
    """Softmax probabilities ``[n, c]``, in batches of ``batch_size`` rows."""
    x = jnp.asarray(x, jnp.float32)
    fn = jax.jit(lambda p, xb: jax.nn.softmax(apply_fn(p, xb), axis=-1))
    return jnp.concatenate([fn(params, x[i:i + batch_size])
                            for i in range(0, x.shape[0], batch_size)], axis=0)


def accuracy(apply_fn: Callable, params: Params, x: Any, y: Any) -> float:
    """Share of rows whose argmax logit equals the label."""
    probs = predict_proba(apply_fn, params, x)
    return float(jnp.mean(jnp.argmax(probs, axis=-1) == jnp.asarray(y)))


def accuracy_many(apply_fn: Callable, params: Params, x: Any, y: Any) -> np.ndarray:
    """Accuracy of each of K stacked models: ``[K]``."""
    x = jnp.asarray(x, jnp.float32)
    logits = jax.jit(jax.vmap(apply_fn, in_axes=(0, None)))(params, x)
    return np.asarray(jnp.mean(jnp.argmax(logits, -1) == jnp.asarray(y)[None], axis=-1))
