"""The Dataset type and member / non-member / test splits drawn from a key."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxpriv import _validate


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Arrays plus the metadata attacks need.

    Attributes:
      name: data set name, e.g. ``"digits"``.
      x: features, float32 ``[n, d]``; images are flattened and their shape is
        in ``image_shape``. Categorical features are integer codes stored as
        float32 (their values are in ``value_sets``).
      y: labels, int32 ``[n]`` in ``[0, num_classes)``; for regression data
        (warfarin dose) float32 ``[n]`` and ``num_classes == 0``.
      num_classes: number of classes (0 for regression).
      feature_names: one name per column of ``x``.
      sensitive: index of the sensitive column of ``x`` (or ``None``).
      value_sets: column name -> tuple of the values its codes stand for
        (code ``i`` means ``value_sets[name][i]``); only categorical columns.
      class_names: one name per class.
      image_shape: ``(height, width)`` for image data, else ``None``.
      extra: anything else a loader keeps (e.g. rows set apart).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    feature_names: tuple[str, ...] = ()
    sensitive: int | None = None
    value_sets: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        x = _validate.array("x", self.x, ndim=2)
        y = _validate.array("y", self.y, ndim=1)
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"Expected x and y with the same number of rows; got x.shape={x.shape},"
                f" y.shape={y.shape}.")
        if self.num_classes > 0:
            _validate.labels("y", y, self.num_classes)
        if self.num_classes < 0:
            raise ValueError(f"Expected num_classes={self.num_classes} >= 0.")
        if self.feature_names and len(self.feature_names) != x.shape[1]:
            raise ValueError(
                f"Expected {x.shape[1]} feature_names; got {len(self.feature_names)}.")
        if self.sensitive is not None and not 0 <= self.sensitive < x.shape[1]:
            raise ValueError(
                f"Expected sensitive={self.sensitive} in [0, {x.shape[1] - 1}] (a column of x).")

    @property
    def num_features(self) -> int:
        return int(self.x.shape[1])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index: np.ndarray) -> "Dataset":
        """The rows ``index`` (an integer index or boolean mask) with the same metadata.

        Per-row entries of ``extra`` (NumPy arrays with one row per row of
        ``x``, e.g. ``extra["image_index"]``) are indexed too.
        """
        index = np.asarray(index)
        n = len(self)
        extra = {k: v[index] if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n
                 else v for k, v in self.extra.items()}
        return dataclasses.replace(self, x=self.x[index], y=self.y[index], extra=extra)

    def images(self) -> np.ndarray:
        """``x`` reshaped to ``[n, height, width]`` (image data only)."""
        if self.image_shape is None:
            raise ValueError(f"Dataset {self.name!r} is not image data (image_shape=None).")
        return self.x.reshape((-1,) + tuple(self.image_shape))


class Split(NamedTuple):
    """Index arrays into one Dataset; disjoint."""

    members: np.ndarray  # int [n_members]
    nonmembers: np.ndarray  # int [n_nonmembers]
    test: np.ndarray  # int [n_test]


def split(
    key: jax.Array,
    n: int | Dataset,
    *,
    n_members: int,
    n_nonmembers: int = 0,
    n_test: int = 0,
    stratify: np.ndarray | None = None,
) -> Split:
    """Draws disjoint member / non-member / test index sets from ``key``.

    Args:
      key: a ``jax.random`` key; the same key gives the same split.
      n: number of rows, or a Dataset.
      n_members, n_nonmembers, n_test: sizes; their sum must not exceed ``n``.
      stratify: optional labels ``[n]``; when given, every class is spread over
        the three sets in proportion (up to rounding).

    Returns:
      A ``Split`` of int64 index arrays.

    Example:
      >>> s = split(jax.random.key(0), 100, n_members=50, n_nonmembers=25, n_test=25)
    """
    if isinstance(n, Dataset):
        n = len(n)
    for name, v in (("n_members", n_members), ("n_nonmembers", n_nonmembers),
                    ("n_test", n_test)):
        if v < 0:
            raise ValueError(f"Expected {name}={v} >= 0.")
    total = n_members + n_nonmembers + n_test
    if total > n:
        raise ValueError(
            f"Expected n_members + n_nonmembers + n_test <= {n} rows; got {total}.")
    perm = np.asarray(jax.random.permutation(key, n))
    if stratify is not None:
        stratify = np.asarray(stratify)
        if stratify.shape != (n,):
            raise ValueError(f"Expected stratify with shape ({n},); got {stratify.shape}.")
        # Interleave classes so any prefix of the order is close to stratified.
        order = np.argsort(stratify[perm], kind="stable")
        ranks = np.empty(n)
        labels = stratify[perm][order]
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            ranks[order[idx]] = (np.arange(len(idx)) + 0.5) / len(idx)
        # Any contiguous run of this interleaved order is close to stratified.
        perm = perm[np.argsort(ranks, kind="stable")]
    return Split(
        perm[:n_members].astype(np.int64),
        perm[n_members:n_members + n_nonmembers].astype(np.int64),
        perm[n_members + n_nonmembers:total].astype(np.int64),
    )
