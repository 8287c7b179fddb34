"""Black-box capacity abuse: synthetic inputs whose labels spell out the secret.

Song, Ristenpart, Shmatikov, "Machine Learning Models that Remember Too Much",
ACM CCS 2017, §5. The malicious training algorithm adds ``N`` synthetic inputs
drawn from a pseudorandom generator whose seed (here a JAX key) the attacker
keeps; each input's label carries ``floor(log2 c)`` secret bits. The model
memorises them along with its task. Later the attacker regenerates the same
inputs from the key, queries the deployed model (labels suffice) and reads the
bits back from the answers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK, Oracle


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapacityConfig:
    """Capacity-abuse settings.

    Attributes:
      num_classes: the task's classes ``c``; each input carries
        ``floor(log2 c)`` bits.
      num_features: input width ``d``.
      clip: the box the synthetic inputs are drawn from (uniformly).
      batch_size: rows per oracle query when recovering.
    """

    num_classes: int
    num_features: int
    clip: tuple[float, float] = (0.0, 1.0)
    batch_size: int = 4096

    def __post_init__(self):
        if self.num_classes < 2:
            raise ValueError(f"Expected num_classes={self.num_classes} >= 2.")
        _validate.positive("num_features", self.num_features)
        _validate.positive("batch_size", self.batch_size)
        if len(self.clip) != 2 or not self.clip[0] < self.clip[1]:
            raise ValueError(f"Expected clip=(lo, hi) with lo < hi; got clip={self.clip!r}.")

    @property
    def bits_per_input(self) -> int:
        return int(math.floor(math.log2(self.num_classes)))

    def inputs_for(self, num_bits: int) -> int:
        """Synthetic inputs needed for ``num_bits`` bits."""
        return math.ceil(num_bits / self.bits_per_input)


class CapacityResult(NamedTuple):
    """Bits read back through the oracle.

    Attributes:
      bits: uint8 ``[num_bits]``.
      labels: int32 ``[N]`` the oracle's labels for the synthetic inputs.
      queries: rows sent to the oracle.
    """

    bits: np.ndarray
    labels: np.ndarray
    queries: int


def synthetic_inputs(key: jax.Array, num_inputs: int, config: CapacityConfig) -> jax.Array:
    """The attacker's pseudorandom inputs, float32 ``[num_inputs, d]`` uniform in ``clip``.

    The same key always gives the same inputs: that is how the attacker finds
    them again at query time.
    """
    _validate.positive("num_inputs", num_inputs)
    lo, hi = config.clip
    return jax.random.uniform(key, (int(num_inputs), config.num_features), jnp.float32, lo, hi)


def bits_to_labels(bits: Any, config: CapacityConfig) -> np.ndarray:
    """Groups bits (zero-padded) into labels of ``bits_per_input`` bits: int32 ``[N]``."""
    b = _validate.array("bits", bits, ndim=1, dtype_kind="biu").astype(np.int64)
    if np.any(b > 1):
        raise ValueError("Expected bits to hold only 0/1 values.")
    k = config.bits_per_input
    n = config.inputs_for(b.size)
    b = np.concatenate([b, np.zeros(n * k - b.size, np.int64)]).reshape(n, k)
    return (b << np.arange(k - 1, -1, -1)).sum(1).astype(np.int32)


def labels_to_bits(labels: Any, num_bits: int, config: CapacityConfig) -> np.ndarray:
    """Inverse of :func:`bits_to_labels`: uint8 ``[num_bits]``.

    Labels outside ``[0, 2^bits_per_input)`` (possible for a model answering
    with a class no input was given) decode to their low bits.
    """
    lab = np.asarray(labels, np.int64).reshape(-1)
    k = config.bits_per_input
    bits = (lab[:, None] >> np.arange(k - 1, -1, -1)) & 1
    return bits.astype(np.uint8).reshape(-1)[:num_bits]


def capacity_abuse_augment(key: jax.Array, data: Any, bits: Any, config: CapacityConfig
                           ) -> tuple[np.ndarray, np.ndarray, int]:
    """The malicious training set: the real data followed by the synthetic inputs.

    Song et al., CCS 2017, §5.1 (Algorithm 2's augmentation step).

    Args:
      key: the attacker's seed for the synthetic inputs (keep it for recovery).
      data: ``(x [n, d], y [n])`` the real training data.
      bits: 0/1 ``[num_bits]`` the secret.
      config: :class:`CapacityConfig`.

    Returns:
      ``(x_aug [n + N, d], y_aug [n + N], N)`` with the ``N`` malicious rows last.
    """
    x = _validate.array("data[0]", data[0], shape=(None, config.num_features),
                        dtype_kind="fiu")
    y = _validate.labels("data[1]", data[1], config.num_classes, n=x.shape[0])
    labels = bits_to_labels(bits, config)
    xs = np.asarray(synthetic_inputs(key, labels.shape[0], config))
    return (np.concatenate([x.astype(np.float32), xs]),
            np.concatenate([y.astype(np.int32), labels]), int(labels.shape[0]))


def capacity_abuse_recover(key: jax.Array, target: Oracle, num_bits: int,
                           config: CapacityConfig) -> CapacityResult:
    """Reads the secret back by querying the synthetic inputs through the oracle.

    Song et al., CCS 2017, §5.1: regenerate the inputs from ``key``, query,
    and turn each predicted label back into bits. Labels alone suffice, so any
    oracle kind among probabilities, top-k and label works.

    Args:
      key: the seed given to :func:`capacity_abuse_augment`.
      target: the deployed model as an :class:`jaxpriv.oracles.Oracle`.
      num_bits: length of the secret.
      config: the :class:`CapacityConfig` of the augmentation.

    Returns:
      :class:`CapacityResult`; its ``queries`` are also counted by the oracle.

    Example:
      >>> x_aug, y_aug, n_mal = capacity_abuse_augment(key, (x, y), bits, cfg)
      >>> # ... the victim trains on (x_aug, y_aug) and deploys the model ...
      >>> res = capacity_abuse_recover(key, oracle, bits.size, cfg)
      >>> bit_error_rate(res.bits, bits)
    """
    if not isinstance(target, Oracle):
        raise ValueError(f"Expected target to be an Oracle; got {type(target).__name__}.")
    target.require(PROBABILITIES, TOPK, LABEL, attack="capacity_abuse_recover")
    _validate.positive("num_bits", num_bits)
    n = config.inputs_for(int(num_bits))
    target.reserve(n)
    xs = synthetic_inputs(key, n, config)
    outs = [np.asarray(target.query(xs[i:i + config.batch_size]))
            for i in range(0, n, config.batch_size)]
    out = np.concatenate(outs)
    labels = (out if out.ndim == 1 else out.argmax(-1)).astype(np.int32)
    return CapacityResult(labels_to_bits(labels, int(num_bits), config), labels, n)
