"""Watermarking by backdooring (Adi, Baum, Cisse, Pinkas, Keshet, USENIX Security 2018).

The owner picks a trigger set (abstract inputs with labels of its choice)
and trains the model to answer them (a backdoor); anyone holding the model
and the marking key can later show ownership.

* :func:`keygen` (Sec. 4, KeyGen): T random inputs ("abstract images") with
  random labels form the marking key ``mk``; each pair is committed with
  SHA-256 over a fresh random nonce, the trigger bytes and the label; the
  list of commitments is the public verification key ``vk``.
* :func:`mark` (Sec. 4, Mark): trains with the trigger set mixed into the
  training data, from scratch (``FromScratch``) or by fine-tuning a trained
  model (``PreTrained``).
* :func:`verify` (Sec. 4, Verify): opens every commitment, rejects on any
  mismatch, then queries the model on the triggers and accepts when it
  agrees with the trigger labels on all but an ``epsilon`` share.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate, training
from jaxpriv.models import Model
from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK, Oracle

NONCE_BYTES = 16


class MarkingKey(NamedTuple):
    """The owner's secret.

    Attributes:
      triggers: float32 ``[T, d]`` trigger inputs.
      labels: int32 ``[T]`` their labels.
      nonces: uint8 ``[T, 16]`` commitment nonces.
    """

    triggers: np.ndarray
    labels: np.ndarray
    nonces: np.ndarray


class VerificationKey(NamedTuple):
    """The public key: one SHA-256 hex commitment per trigger, ``tuple[str]`` of length T."""

    commitments: tuple[str, ...]


class VerifyResult(NamedTuple):
    accepted: bool          # commitments open and agreement >= 1 - epsilon
    commitments_ok: bool    # every commitment opened
    bad_commitments: int    # how many did not
    agreement: float        # share of triggers answered with their label
    queries: int            # rows sent to the model


def commit(trigger: Any, label: int, nonce: bytes) -> str:
    """SHA-256 commitment ``H(nonce || label (int32 LE) || trigger float32 bytes)``."""
    t = np.ascontiguousarray(np.asarray(trigger, np.float32))
    h = hashlib.sha256()
    h.update(bytes(nonce))
    h.update(np.int32(label).tobytes())
    h.update(t.tobytes())
    return h.hexdigest()


def keygen(key: jax.Array, *, num_triggers: int, num_features: int, num_classes: int,
           low: float = 0.0, high: float = 1.0,
           secure_nonces: bool = True) -> tuple[MarkingKey, VerificationKey]:
    """KeyGen: a random trigger set and its commitments.

    Args:
      key: PRNG key for the triggers and labels.
      num_triggers: T (the paper uses 100).
      num_features: input width d; triggers are uniform in ``[low, high]^d``.
      num_classes: labels are uniform in ``[0, num_classes)``.
      secure_nonces: draw nonces from the OS (``secrets``); False derives them
        from ``key`` (reproducible, only as secret as ``key``).

    Returns:
      ``(mk, vk)``.
    """
    _validate.positive("num_triggers", num_triggers)
    _validate.positive("num_features", num_features)
    if num_classes < 2:
        raise ValueError(f"Expected num_classes={num_classes} >= 2.")
    if not high > low:
        raise ValueError(f"Expected high={high} > low={low}.")
    kx, ky, kn = jax.random.split(key, 3)
    triggers = np.asarray(jax.random.uniform(kx, (num_triggers, num_features),
                                             minval=low, maxval=high), np.float32)
    labels = np.asarray(jax.random.randint(ky, (num_triggers,), 0, num_classes), np.int32)
    if secure_nonces:
        nonces = np.frombuffer(secrets.token_bytes(NONCE_BYTES * num_triggers),
                               np.uint8).reshape(num_triggers, NONCE_BYTES).copy()
    else:
        nonces = np.asarray(jax.random.bits(kn, (num_triggers, NONCE_BYTES), jnp.uint8))
    mk = MarkingKey(triggers, labels, nonces)
    vk = VerificationKey(tuple(commit(t, int(l), n.tobytes())
                               for t, l, n in zip(triggers, labels, nonces)))
    return mk, vk


@dataclasses.dataclass(frozen=True, kw_only=True)
class MarkConfig:
    """How the watermark is embedded.

    Attributes:
      train: training settings for the marked model (``epochs`` etc.).
      trigger_repeats: copies of the trigger set mixed into the training data
        (so each minibatch sees triggers, as in the paper's batches).
      learning_rate, l2: see :class:`jaxpriv.training.Hyper`.
    """

    train: training.TrainConfig = training.TrainConfig(epochs=30, batch_size=64)
    trigger_repeats: int = 5
    learning_rate: float = 1e-3
    l2: float = 0.0

    def __post_init__(self):
        _validate.positive("trigger_repeats", self.trigger_repeats)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.positive("l2", self.l2, allow_zero=True)


def _check_mk(mk: MarkingKey, num_features: int | None = None):
    t = _validate.array("mk.triggers", mk.triggers, ndim=2, dtype_kind="f")
    _validate.array("mk.labels", mk.labels, shape=(t.shape[0],), dtype_kind="iu")
    _validate.array("mk.nonces", mk.nonces, shape=(t.shape[0], None), dtype_kind="u")
    if num_features is not None and t.shape[1] != num_features:
        raise ValueError(f"Expected mk.triggers with {num_features} features; got "
                         f"shape {t.shape}.")


def mark(key: jax.Array, model: Model, x: Any, y: Any, mk: MarkingKey,
         config: MarkConfig = MarkConfig(), *, params: Any = None) -> Any:
    """Mark: trains ``model`` on ``(x, y)`` plus the trigger set.

    Args:
      key: PRNG key.
      model: a :class:`jaxpriv.models.Model`.
      x: ``[n, d]``; y: ``[n]`` clean training data.
      mk: the marking key.
      config: :class:`MarkConfig`.
      params: a trained model to mark by fine-tuning (``None``: from scratch).

    Returns:
      The marked parameters.
    """
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    y = _validate.labels("y", y, model.num_classes, n=x.shape[0])
    _check_mk(mk, x.shape[1])
    _validate.labels("mk.labels", mk.labels, model.num_classes)
    r = config.trigger_repeats
    xa = np.concatenate([x.astype(np.float32)] + [mk.triggers] * r)
    ya = np.concatenate([y.astype(np.int32)] + [mk.labels.astype(np.int32)] * r)
    hyper = training.Hyper(learning_rate=config.learning_rate, l2=config.l2)
    out, _ = training.fit(key, model, xa, ya, config.train, hyper, params=params)
    return out


def _predict_labels(target: Any, x: np.ndarray) -> tuple[np.ndarray, int]:
    if isinstance(target, Oracle):
        target.require(LABEL, PROBABILITIES, TOPK, attack="watermark verify")
        out = np.asarray(target.query(x))
        lab = out if target.kind == LABEL else out.argmax(axis=-1)
        return lab.astype(np.int64), x.shape[0]
    apply_fn, params = target
    logits = jax.jit(apply_fn)(params, jnp.asarray(x))
    return np.asarray(jnp.argmax(logits, axis=-1)), x.shape[0]


def trigger_accuracy(target: Any, mk: MarkingKey) -> float:
    """Share of triggers the target labels as in ``mk``; ``target`` is
    ``(apply_fn, params)`` or an :class:`Oracle`."""
    _check_mk(mk)
    pred, _ = _predict_labels(target, mk.triggers)
    return float(np.mean(pred == mk.labels))


def verify(target: Any, mk: MarkingKey, vk: VerificationKey, *,
           epsilon: float = 0.1) -> VerifyResult:
    """Verify: open the commitments, then check agreement on the triggers.

    Args:
      target: ``(apply_fn, params)`` or an :class:`Oracle` (black-box, labels
        or probabilities).
      mk: the marking key presented by the claimed owner.
      vk: the public verification key.
      epsilon: tolerated share of disagreeing triggers.

    Returns:
      :class:`VerifyResult`; ``accepted`` is False when any commitment fails
      to open (a wrong key or a forged commitment) or when the model disagrees
      on more than ``epsilon`` of the triggers. No query is made when the
      commitments do not open.
    """
    _check_mk(mk)
    _validate.in_range("epsilon", epsilon, 0.0, 1.0)
    if len(vk.commitments) != mk.triggers.shape[0]:
        return VerifyResult(False, False, abs(len(vk.commitments) - mk.triggers.shape[0])
                            or mk.triggers.shape[0], 0.0, 0)
    bad = sum(commit(t, int(l), n.tobytes()) != c
              for t, l, n, c in zip(mk.triggers, mk.labels, mk.nonces, vk.commitments))
    if bad:
        return VerifyResult(False, False, int(bad), 0.0, 0)
    pred, q = _predict_labels(target, mk.triggers)
    agree = float(np.mean(pred == mk.labels))
    return VerifyResult(agree >= 1.0 - epsilon - 1e-12, True, 0, agree, q)


def remove_by_finetuning(key: jax.Array, model: Model, params: Any, x: Any, y: Any,
                         config: training.TrainConfig = training.TrainConfig(epochs=10),
                         learning_rate: float = 1e-3) -> Any:
    """The removal attack of Sec. 5.2: fine-tune the marked model on clean data
    ``(x [n, d], y [n])``; returns the new parameters."""
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    y = _validate.labels("y", y, model.num_classes, n=x.shape[0])
    out, _ = training.fit(key, model, x, y, config,
                          training.Hyper(learning_rate=learning_rate), params=params)
    return out


ApplyFn = Callable[[Any, jax.Array], jax.Array]
