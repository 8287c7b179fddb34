"""White-box encodings of training data into model parameters, and their decoders.

Song, Ristenpart, Shmatikov, "Machine Learning Models that Remember Too Much",
ACM CCS 2017, §4:

* LSB encoding (§4.1): after ordinary training, the low-order bits of the
  float32 parameters are overwritten with the secret bits.
* Correlated value encoding (§4.2): a training penalty
  ``C(theta, s) = -lam * corr(theta, s)`` correlates the first ``l`` parameters
  with the secret values (pixels); the decoder rescales parameters to pixels.
  (The paper penalises ``|corr|`` and notes the decoder may have to invert the
  image; asking for a positive correlation leaves nothing to guess.)
* Sign encoding (§4.3): a penalty ``P(theta, s) = lam / l * sum |max(0,
  -theta_i s_i)|`` with ``s_i in {-1, +1}`` sets the sign of each parameter to
  one secret bit; the decoder reads the signs.

The encoded parameters are the kernels (leaves with ``ndim >= 2``) of the
model, flattened in ``jax.tree_util`` order; biases are left alone. ``encode_secret``
trains ``K`` malicious models at once (``vmap`` over models: one per amount
encoded and penalty weight) so accuracy against amount is one compiled call.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv._progress import progress_bar
from jaxpriv.attacks.leakage import _bits
from jaxpriv.models import Model

METHODS = ("lsb", "correlation", "sign")


def _seq(name: str, value: Any, kind: type) -> tuple:
    vals = tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else (value,)
    if not vals:
        raise ValueError(f"Expected {name} to be non-empty; got {value!r}.")
    return tuple(kind(v) for v in vals)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EncodingConfig:
    """How the malicious training algorithm hides the secret.

    Attributes:
      method: one of ``METHODS``: ``"lsb"``, ``"correlation"``, ``"sign"``.
      lam: penalty weight (correlation, sign), a number or a sequence ``[K]``.
      num_images: how many secret images each model encodes (a prefix of the
        secret), a number or a sequence ``[K]``; ``None``: all of them.
        ``lam`` and ``num_images`` broadcast against each other; with both
        scalars ``encode_secret`` returns one model, else ``K`` stacked models.
      bits_per_pixel: quantisation of each pixel (sign, LSB).
      bits_per_param: low-order mantissa bits overwritten per parameter (LSB).
      epochs, batch_size, learning_rate: training (Adam).
      progress: show a progress bar over epochs.
    """

    method: str = "sign"
    lam: Any = 10.0
    num_images: Any = None
    bits_per_pixel: int = 4
    bits_per_param: int = 16
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    progress: bool = False

    def __post_init__(self):
        object.__setattr__(self, "learning_rate", float(self.learning_rate))
        _validate.one_of("method", self.method, METHODS)
        lam = _seq("lam", self.lam, float)
        _validate.positive("lam", np.asarray(lam), allow_zero=True)
        object.__setattr__(self, "lam", lam if len(lam) > 1 or isinstance(
            self.lam, (list, tuple, np.ndarray)) else lam[0])
        if self.num_images is not None:
            num = _seq("num_images", self.num_images, int)
            _validate.positive("num_images", np.asarray(num), allow_zero=True)
            object.__setattr__(self, "num_images", num if len(num) > 1 or isinstance(
                self.num_images, (list, tuple, np.ndarray)) else num[0])
        _validate.in_range("bits_per_pixel", self.bits_per_pixel, 1, 16)
        _validate.in_range("bits_per_param", self.bits_per_param, 1, 23)
        _validate.positive("epochs", self.epochs)
        _validate.positive("batch_size", self.batch_size)
        _validate.positive("learning_rate", self.learning_rate)

    def values_per_image(self, num_pixels: int) -> int:
        """Parameters one secret image occupies."""
        if self.method == "correlation":
            return num_pixels
        bits = num_pixels * self.bits_per_pixel
        return bits if self.method == "sign" else math.ceil(bits / self.bits_per_param)


class Encoded(NamedTuple):
    """Malicious models.

    Attributes:
      params: the models' parameters; leaves have a leading ``[K]`` axis when
        the config sweeps ``lam`` or ``num_images``.
      num_images: int ``[K]`` (or a scalar): secret images each model holds.
      loss: float ``[K, epochs]`` (or ``[epochs]``): mean task loss per epoch.
    """

    params: Any
    num_images: Any
    loss: Any


class Decoded(NamedTuple):
    """What the decoder reads out of one model.

    Attributes:
      images: float32 ``[num_images, num_pixels]`` in ``[0, 1]``.
      bits: uint8 ``[num_images * num_pixels * bits_per_pixel]`` (sign, LSB) or
        ``None`` (correlation, which stores values, not bits).
    """

    images: np.ndarray
    bits: np.ndarray | None


def kernel_vector(params: Any) -> jax.Array:
    """The parameters the encodings use: every kernel (``ndim >= 2``) flattened, ``[P]``."""
    leaves = [p.reshape(-1) for p in jax.tree_util.tree_leaves(params) if p.ndim >= 2]
    if not leaves:
        raise ValueError("Expected params with at least one kernel (a leaf with ndim >= 2).")
    return jnp.concatenate(leaves)


def with_kernel_vector(params: Any, vec: Any) -> Any:
    """``params`` with its kernels replaced by the front of ``vec`` (inverse of
    :func:`kernel_vector`)."""
    leaves, tree = jax.tree_util.tree_flatten(params)
    out, at = [], 0
    for p in leaves:
        if p.ndim >= 2:
            out.append(jnp.asarray(vec[at:at + p.size]).reshape(p.shape).astype(p.dtype))
            at += p.size
        else:
            out.append(p)
    return jax.tree_util.tree_unflatten(tree, out)


def encoding_capacity(params: Any, num_pixels: int, config: EncodingConfig) -> int:
    """How many images of ``num_pixels`` pixels the model's kernels can hold."""
    return int(kernel_vector(params).shape[0]) // config.values_per_image(num_pixels)


def correlation_penalty(theta: jax.Array, secret: jax.Array, weight: jax.Array) -> jax.Array:
    """``-corr(theta, secret)`` over the entries with ``weight`` 1 (all ``[l]``); 0 if none."""
    n = jnp.maximum(jnp.sum(weight), 1.0)
    mt = jnp.sum(weight * theta) / n
    ms = jnp.sum(weight * secret) / n
    dt, ds = weight * (theta - mt), weight * (secret - ms)
    cov = jnp.sum(dt * ds)
    return -cov / jnp.sqrt(jnp.sum(dt * dt) * jnp.sum(ds * ds) + 1e-12)


def sign_penalty(theta: jax.Array, secret: jax.Array, weight: jax.Array) -> jax.Array:
    """``mean |max(0, -theta_i s_i)|`` over weighted entries; ``s_i in {-1, +1}``."""
    n = jnp.maximum(jnp.sum(weight), 1.0)
    return jnp.sum(weight * jax.nn.relu(-theta * secret)) / n


def _secret_vector(secret: np.ndarray, config: EncodingConfig) -> np.ndarray:
    if config.method == "correlation":
        return secret.reshape(-1).astype(np.float32)
    bits = _bits.images_to_bits(secret, config.bits_per_pixel)
    return (2.0 * bits - 1.0).astype(np.float32) if config.method == "sign" else bits


_PENALTIES = {"correlation": correlation_penalty, "sign": sign_penalty}


def _step(apply_fn, method, tx, carry, xb, yb, vb, secret, w, lam_k):
    """One Adam step of one model on the task loss plus the encoding penalty."""
    penalty = _PENALTIES.get(method)

    def loss_fn(params):
        logits = apply_fn(params, xb)
        per = optax.softmax_cross_entropy_with_integer_labels(logits, yb)
        task = jnp.sum(vb * per) / jnp.sum(vb)
        if penalty is None:
            return task, task
        theta = kernel_vector(params)[:secret.shape[0]]
        return task + lam_k * penalty(theta, secret, w), task

    params, opt = carry
    (_, task), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
    upd, opt = tx.update(g, opt, params)
    return (optax.apply_updates(params, upd), opt), task


@functools.partial(jax.jit, static_argnames=("init_fn", "learning_rate"))
def _init(init_fn, keys, x1, *, learning_rate):
    tx = optax.adam(learning_rate)

    def one(k):
        p = init_fn(k, x1)
        return p, tx.init(p)

    return jax.vmap(one)(keys)


@functools.partial(jax.jit, static_argnames=("apply_fn", "method", "learning_rate",
                                             "batch_size"))
def _epoch(apply_fn, carry, key, x, y, secret, w, lam, *, method, learning_rate, batch_size):
    """One epoch of K models (leading axis of ``carry``, ``w``, ``lam``), shared order."""
    tx = optax.adam(learning_rate)
    n = x.shape[0]
    nb = math.ceil(n / batch_size)
    perm = jax.random.permutation(key, n)
    pad = nb * batch_size - n
    valid = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(nb, -1)
    idx = jnp.concatenate([perm, perm[:pad]]).reshape(nb, -1)
    step = functools.partial(_step, apply_fn, method, tx)

    def body(c, b):
        i, v = b
        return jax.vmap(step, in_axes=(0, None, None, None, None, 0, 0))(
            c, x[i], y[i], v, secret, w, lam)

    carry, tasks = jax.lax.scan(body, carry, (idx, valid))
    return carry, tasks.mean(axis=0)


def _train(key, model: Model, x, y, secret_vec, weights, lam, config: EncodingConfig):
    """K malicious models trained together (shared minibatch order).

    The compiled epoch depends only on shapes and the static settings, so a
    second call with new data, secrets or penalty weights does not recompile.
    """
    num_models = weights.shape[0]
    xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32)
    sj = jnp.asarray(secret_vec, jnp.float32)
    keys = jax.random.split(jax.random.fold_in(key, 0), num_models)
    carry = _init(model.init, keys, xj[:1], learning_rate=config.learning_rate)
    w = jnp.asarray(weights, jnp.float32)
    lam_j = jnp.asarray(lam, jnp.float32)
    losses = []
    with progress_bar(config.epochs, f"encoding ({config.method}) into {num_models} model(s)",
                      config.progress) as bar:
        for e in range(config.epochs):
            carry, loss = _epoch(model.apply, carry,
                                 jax.random.fold_in(jax.random.fold_in(key, 1), e), xj, yj, sj,
                                 w, lam_j, method=config.method,
                                 learning_rate=config.learning_rate,
                                 batch_size=config.batch_size)
            losses.append(loss)
            bar.update(1)
    return carry[0], jnp.stack(losses, axis=-1)


def lsb_encode(params: Any, bits: Any, bits_per_param: int) -> Any:
    """Overwrites the ``bits_per_param`` low-order mantissa bits of the kernels.

    Song et al., CCS 2017, §4.1. Bits fill parameters in order, most
    significant first within each parameter; parameters past the secret keep
    their value.

    Args:
      params: one model's parameters (float32 kernels).
      bits: 0/1 ``[num_bits]``.
      bits_per_param: 1..23.

    Returns:
      The parameters with the secret in their low bits.
    """
    vec = np.asarray(kernel_vector(params), np.float32).copy()
    b = np.asarray(bits, np.uint32).reshape(-1)
    need = math.ceil(b.size / bits_per_param)
    if need > vec.size:
        raise ValueError(f"Expected at most {vec.size * bits_per_param} bits for this model "
                         f"({vec.size} kernel parameters x {bits_per_param}); got {b.size}.")
    b = np.concatenate([b, np.zeros(need * bits_per_param - b.size, np.uint32)])
    chunks = (b.reshape(need, bits_per_param) << np.arange(bits_per_param - 1, -1, -1,
                                                           dtype=np.uint32)).sum(1)
    u = vec.view(np.uint32)
    mask = np.uint32((1 << bits_per_param) - 1)
    u[:need] = (u[:need] & ~mask) | chunks.astype(np.uint32)
    return with_kernel_vector(params, jnp.asarray(u.view(np.float32)))


def lsb_decode(params: Any, num_bits: int, bits_per_param: int) -> np.ndarray:
    """Reads ``num_bits`` bits back from the low-order mantissa bits: uint8 ``[num_bits]``."""
    vec = np.asarray(kernel_vector(params), np.float32)
    need = math.ceil(num_bits / bits_per_param)
    if need > vec.size:
        raise ValueError(f"Expected num_bits <= {vec.size * bits_per_param}; got {num_bits}.")
    u = vec[:need].view(np.uint32)
    shifts = np.arange(bits_per_param - 1, -1, -1, dtype=np.uint32)
    return ((u[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)[:num_bits]


def encode_secret(key: jax.Array, model: Model, data: Any, secret: Any,
           config: EncodingConfig = EncodingConfig()) -> Encoded:
    """Trains malicious model(s) that hold ``secret`` in their parameters.

    Song et al., CCS 2017, §4 (Algorithm 1 with the penalty of §4.2 or §4.3;
    LSB, §4.1, trains normally and then overwrites low-order bits).

    Args:
      key: PRNG key (initialisation, minibatch order).
      model: a :class:`jaxpriv.models.Model` (its ``init`` and ``apply``).
      data: ``(x [n, d], y [n])`` training data.
      secret: float ``[m, p]`` images in ``[0, 1]`` (usually rows of ``x``:
        the training data the malicious algorithm leaks).
      config: :class:`EncodingConfig`; sequences in ``lam`` / ``num_images``
        train ``K`` models in one vmapped program.

    Returns:
      :class:`Encoded`.

    Example:
      >>> enc = encode_secret(key, model, (x, y), x[:20], EncodingConfig(method="sign"))
      >>> dec = decode_secret(key, (model.apply, enc.params), (20, 64), EncodingConfig(method="sign"))
    """
    if not isinstance(model, Model):
        raise ValueError(f"Expected model to be a jaxpriv.models.Model; got "
                         f"{type(model).__name__}.")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError("Expected data=(x, y).")
    x = _validate.array("data[0]", data[0], ndim=2, dtype_kind="fiu")
    y = _validate.labels("data[1]", data[1], model.num_classes, n=x.shape[0])
    s = _validate.array("secret", secret, ndim=2, dtype_kind="fiu")
    if s.min() < 0 or s.max() > 1:
        raise ValueError(f"Expected secret in [0, 1]; got values in [{s.min():g}, {s.max():g}].")
    m, p = s.shape
    num = config.num_images if config.num_images is not None else m
    sweep = isinstance(num, tuple) or isinstance(config.lam, tuple)
    num_arr, lam_arr = np.broadcast_arrays(np.atleast_1d(np.asarray(num, np.int64)),
                                           np.atleast_1d(np.asarray(config.lam, np.float32)))
    if num_arr.max() > m:
        raise ValueError(f"Expected num_images <= {m} (rows of secret); got {num_arr.max()}.")
    template = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, x.shape[1])))
    total = sum(int(np.prod(t.shape)) for t in jax.tree_util.tree_leaves(template)
                if len(t.shape) >= 2)
    per = config.values_per_image(p)
    if int(num_arr.max()) * per > total:
        raise ValueError(
            f"Expected at most {total // per} secret images for {config.method!r} encoding "
            f"(the model has {total} kernel parameters, {per} per image); got "
            f"num_images={int(num_arr.max())}.")
    secret_vec = _secret_vector(s[:int(num_arr.max())], config)
    length = secret_vec.shape[0]
    weights = (np.arange(length)[None, :] < (num_arr * per)[:, None]).astype(np.float32)
    params, loss = _train(key, model, x, y, secret_vec, weights, lam_arr, config)
    if config.method == "lsb":
        encoded = []
        for k in range(num_arr.shape[0]):
            pk = jax.tree_util.tree_map(lambda a: a[k], params)
            bits = secret_vec[:int(num_arr[k]) * p * config.bits_per_pixel]
            encoded.append(lsb_encode(pk, bits, config.bits_per_param) if bits.size else pk)
        params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *encoded)
    if not sweep:
        return Encoded(jax.tree_util.tree_map(lambda a: a[0], params), int(num_arr[0]), loss[0])
    return Encoded(params, num_arr, loss)


def decode_secret(key: jax.Array, target: Any, shape: tuple[int, int],
           config: EncodingConfig = EncodingConfig()) -> Decoded:
    """Reads secret images out of a malicious model's parameters (white-box).

    Song et al., CCS 2017, §4: LSB reads the low-order bits, sign encoding the
    signs, correlated-value encoding maps each image's parameters linearly
    onto ``[0, 1]`` (min-max per image).

    Args:
      key: PRNG key (unused: decoding is deterministic; kept for the attack shape).
      target: ``(apply_fn, params)`` of one model, or its ``params``.
      shape: ``(num_images, num_pixels)`` to read.
      config: the :class:`EncodingConfig` used by :func:`encode_secret` (its
        ``method``, ``bits_per_pixel``, ``bits_per_param``).

    Returns:
      :class:`Decoded`.
    """
    params = target[1] if isinstance(target, tuple) and len(target) == 2 and callable(
        target[0]) else target
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"Expected shape=(num_images >= 1, num_pixels >= 1); got {shape!r}.")
    m, p = int(shape[0]), int(shape[1])
    vec = np.asarray(kernel_vector(params), np.float32)
    if vec.ndim != 1:
        raise ValueError("Expected the parameters of one model (no leading [K] axis).")
    need = m * config.values_per_image(p)
    if need > vec.size:
        raise ValueError(f"Expected at most {vec.size // config.values_per_image(p)} images in "
                         f"this model for {config.method!r}; asked for num_images={m}.")
    if config.method == "lsb":
        bits = lsb_decode(params, m * p * config.bits_per_pixel, config.bits_per_param)
        return Decoded(_bits.bits_to_images(bits, m, p, config.bits_per_pixel), bits)
    if config.method == "sign":
        bits = (vec[:need] > 0).astype(np.uint8)
        return Decoded(_bits.bits_to_images(bits, m, p, config.bits_per_pixel), bits)
    theta = vec[:need].reshape(m, p).astype(np.float64)
    lo, hi = theta.min(axis=1, keepdims=True), theta.max(axis=1, keepdims=True)
    img = (theta - lo) / np.maximum(hi - lo, 1e-12)
    return Decoded(img.astype(np.float32), None)
