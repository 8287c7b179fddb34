"""Shadow models: K copies of the target's architecture trained together.

Shokri, Stronati, Song, Shmatikov, "Membership Inference Attacks Against
Machine Learning Models", IEEE S&P 2017, Section IV-B: the attacker trains
shadow models that imitate the target on data it controls, so it knows which
records each one was trained on. Carlini et al., "Membership Inference Attacks
From First Principles", IEEE S&P 2022, Section IV: many shadow models where
each record is a member of about half of them.

All K models train in one program through :func:`jaxpriv.training.fit_many`
(vmapped over models; member masks select each model's rows). With several
devices the model axis is sharded over them (``jax.sharding.NamedSharding``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate, training
from jaxpriv.attacks.membership import _common
from jaxpriv.models import Model

SAMPLINGS = ("disjoint", "overlapping", "half")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShadowConfig:
    """How the shadow models are built and trained (static settings).

    Attributes:
      model: the shadow architecture (the target's, as the attacker knows it).
      num_shadows: K, the number of shadow models.
      sampling: how members are drawn from the attacker's pool of ``n`` rows:
        ``"disjoint"`` (Shokri et al.: each model gets its own slice of
        ``2 * n_train`` rows, the first half members, the second half its
        non-members), ``"overlapping"`` (each model draws ``n_train`` members
        at random; its non-members are ``n_train`` of the other rows), or
        ``"half"`` (Carlini et al.: every row is a member of exactly half of
        the models; ``n_train`` is ignored).
      n_train: members per shadow model (default: ``n // (2 K)`` for
        ``disjoint``, ``n // 2`` for ``overlapping``).
      train: training settings (copy the target's).
      hyper: learning rate and L2 weight (copy the target's recipe).
      chunk_size: train at most this many models at a time (memory bound).
      shard: shard the model axis over devices when there are several.
    """

    model: Model
    num_shadows: int = 8
    sampling: str = "disjoint"
    n_train: int | None = None
    train: training.TrainConfig = training.TrainConfig()
    hyper: training.Hyper = training.Hyper()
    chunk_size: int | None = None
    shard: bool = True

    def __post_init__(self):
        if not isinstance(self.model, Model):
            raise ValueError(f"Expected model to be a jaxpriv.models.Model; got "
                             f"{type(self.model).__name__}.")
        _validate.positive("num_shadows", self.num_shadows)
        _validate.one_of("sampling", self.sampling, SAMPLINGS)
        if self.n_train is not None:
            _validate.positive("n_train", self.n_train)
        if self.chunk_size is not None:
            _validate.positive("chunk_size", self.chunk_size)
        if self.sampling == "half" and self.num_shadows < 2:
            raise ValueError(f"Expected num_shadows={self.num_shadows} >= 2 with sampling='half'.")


class Shadows(NamedTuple):
    """Trained shadow models and who was in their training sets.

    Attributes:
      params: stacked parameters, a leading ``[K]`` axis on every leaf.
      in_mask: bool ``[K, n]``, row i was in model k's training set.
      out_mask: bool ``[K, n]``, row i is one of model k's known non-members
        (disjoint from ``in_mask``; used for the attack training set).
      loss: float ``[K, epochs]`` training loss.
    """

    params: Any
    in_mask: np.ndarray
    out_mask: np.ndarray
    loss: jax.Array


def shadow_masks(key: jax.Array, n: int, *, num_shadows: int, sampling: str = "disjoint",
                 n_train: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Member and known-non-member masks for K shadow models over ``n`` rows.

    Returns:
      ``(in_mask, out_mask)``, bool ``[K, n]`` each, disjoint per model.
    """
    _validate.one_of("sampling", sampling, SAMPLINGS)
    _validate.positive("n", n)
    _validate.positive("num_shadows", num_shadows)
    k = num_shadows
    in_mask = np.zeros((k, n), bool)
    out_mask = np.zeros((k, n), bool)
    if sampling == "disjoint":
        m = n // (2 * k) if n_train is None else int(n_train)
        if m < 1 or 2 * m * k > n:
            raise ValueError(
                f"Expected 2 * n_train * num_shadows <= n for disjoint shadows; got n_train={m},"
                f" num_shadows={k}, n={n}.")
        perm = np.asarray(jax.random.permutation(key, n))
        for i in range(k):
            in_mask[i, perm[2 * m * i: 2 * m * i + m]] = True
            out_mask[i, perm[2 * m * i + m: 2 * m * (i + 1)]] = True
    elif sampling == "overlapping":
        m = n // 2 if n_train is None else int(n_train)
        if m < 1 or 2 * m > n:
            raise ValueError(f"Expected 1 <= n_train <= n / 2 for overlapping shadows; got "
                             f"n_train={m}, n={n}.")
        u = np.asarray(jax.random.uniform(key, (k, n)))
        rank = np.argsort(np.argsort(u, axis=1), axis=1)
        in_mask = rank < m
        out_mask = (rank >= m) & (rank < 2 * m)
    else:
        # Carlini et al.'s split: each row is in exactly half of the models.
        u = np.asarray(jax.random.uniform(key, (k, n)))
        rank = np.argsort(np.argsort(u, axis=0), axis=0)
        in_mask = rank < k // 2
        out_mask = ~in_mask
    return in_mask, out_mask


def _model_sharding(num: int):
    """A NamedSharding over a 1-D mesh named ``models``, or None on one device."""
    devices = jax.devices()
    if len(devices) < 2:
        return None
    mesh = jax.sharding.Mesh(np.asarray(devices), ("models",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("models"))


def train_shadows(key: jax.Array, x: Any, y: Any, config: ShadowConfig, *,
                  masks: tuple[np.ndarray, np.ndarray] | None = None) -> Shadows:
    """Trains K shadow models on the attacker's data in one program.

    Args:
      key: PRNG key (member draws, initialisation, minibatch order).
      x: float ``[n, d]`` the attacker's pool of records (real, synthetic...).
      y: int ``[n]`` their labels.
      config: :class:`ShadowConfig`.
      masks: optional ``(in_mask, out_mask)`` bool ``[K, n]`` to use instead of
        drawing them (e.g. from :func:`shadow_masks`).

    Returns:
      :class:`Shadows` with stacked parameters ``[K, ...]``.

    Example:
      >>> cfg = ShadowConfig(model=model, num_shadows=16, sampling="half")
      >>> shadows = train_shadows(jax.random.key(0), x_pool, y_pool, cfg)
    """
    x, y = _common.check_records(x, y, config.model.num_classes)
    n = x.shape[0]
    k_mask, k_fit = jax.random.split(key)
    if masks is None:
        in_mask, out_mask = shadow_masks(k_mask, n, num_shadows=config.num_shadows,
                                         sampling=config.sampling, n_train=config.n_train)
    else:
        in_mask = _validate.array("masks[0]", masks[0], shape=(config.num_shadows, n)).astype(bool)
        out_mask = _validate.array("masks[1]", masks[1], shape=(config.num_shadows, n)).astype(bool)
        if np.any(in_mask & out_mask):
            raise ValueError("Expected in_mask and out_mask to be disjoint per model.")
    k = config.num_shadows
    keys = jax.random.split(k_fit, k)
    train_masks = in_mask
    hyper = config.hyper
    chunk = config.chunk_size
    sharding = _model_sharding(k) if config.shard else None
    if sharding is not None:
        # Pad K (and the chunk) to a multiple of the device count; extra models are dropped.
        ndev = len(jax.devices())
        k_pad = math.ceil(k / ndev) * ndev
        if k_pad > k:
            extra = jax.random.split(jax.random.fold_in(k_fit, 1), k_pad - k)
            keys = jnp.concatenate([keys, extra])
            train_masks = np.concatenate([in_mask, np.repeat(in_mask[-1:], k_pad - k, 0)])
            hyper = training.Hyper(*(h if np.ndim(h) == 0 else np.concatenate(
                [np.asarray(h), np.repeat(np.asarray(h)[-1:], k_pad - k)]) for h in hyper))
        if chunk is not None:
            chunk = math.ceil(chunk / ndev) * ndev
        keys = jax.device_put(keys, sharding)
    params, hist = training.fit_many(keys, config.model, x, y, config.train, hyper,
                                     masks=train_masks, chunk_size=chunk)
    if sharding is not None and train_masks.shape[0] > k:
        params = jax.tree_util.tree_map(lambda p: p[:k], params)
        hist = training.History(hist.loss[:k])
    return Shadows(params, in_mask, out_mask, hist.loss)


def shadow_outputs(key: jax.Array, shadows: Shadows, apply_fn, x: Any, defenses=(), *,
                   chunk_size: int | None = None) -> jax.Array:
    """Every shadow model's (defended) outputs on the pool: ``[K, n, c]`` (``[K, n]``
    when a defence returns labels), computed in one jitted vmapped pass per chunk."""
    x = jnp.asarray(_validate.array("x", x, ndim=2, dtype_kind="fiub"), jnp.float32)
    num = jax.tree_util.tree_leaves(shadows.params)[0].shape[0]
    chunk = num if chunk_size is None else int(chunk_size)
    outs = []
    for s in range(0, num, chunk):
        p = jax.tree_util.tree_map(lambda a: a[s:s + chunk], shadows.params)
        outs.append(_outputs_jit(apply_fn, p, x, jax.random.fold_in(key, s), tuple(defenses)))
    return outs[0] if len(outs) == 1 else jnp.concatenate(outs, axis=0)


@functools.partial(jax.jit, static_argnums=(0, 4))
def _outputs_jit(apply_fn, params, x, key, defenses):
    return _common.stacked_outputs(apply_fn, params, x, key, defenses)
