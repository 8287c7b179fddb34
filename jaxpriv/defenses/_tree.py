"""Decision trees with the sensitive feature forced to a chosen depth.

Fredrikson, Jha, Ristenpart (CCS 2015, Section 6.2, "Decision trees"): where
the sensitive feature sits in a tree changes how well model inversion recovers
it; placing it at a chosen level (near the root or near the leaves) is the
defence they study, trading accuracy against inversion success. This module
trains such a tree: a CART classifier (Gini impurity, binary threshold splits)
whose nodes at depth ``sensitive_depth`` split on the sensitive feature
whenever it takes two values there, and whose nodes at every other depth
never use it. The result is scikit-learn compatible and converts to
:class:`jaxpriv.models.TreeArrays` for the engine's attacks.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from jaxpriv import _validate
from jaxpriv.models import TreeArrays


def _gini(counts: np.ndarray) -> np.ndarray:
    tot = counts.sum(axis=-1)
    p = counts / np.maximum(tot[..., None], 1e-12)
    return 1.0 - np.sum(p * p, axis=-1)


class SensitiveDepthTree(ClassifierMixin, BaseEstimator):
    """CART classifier with the sensitive feature at a forced depth.

    Args:
      sensitive_feature: column index of the sensitive feature.
      sensitive_depth: the depth (0 = root) whose nodes split on it.
      max_depth: depth limit of the tree.
      min_samples_leaf: smallest leaf.

    Attributes (after ``fit``): ``classes_``, ``n_features_in_`` and
    ``tree_`` with scikit-learn's flat fields ``feature``, ``threshold``,
    ``children_left``, ``children_right``, ``value [nodes, 1, c]`` (class
    fractions), ``n_node_samples``, ``node_count``, ``max_depth``.

    Example:
      >>> clf = SensitiveDepthTree(sensitive_feature=3, sensitive_depth=0).fit(x, y)
      >>> tree = clf.to_tree_arrays()      # for jaxpriv attacks
    """

    def __init__(self, sensitive_feature: int = 0, sensitive_depth: int = 0,
                 max_depth: int = 8, min_samples_leaf: int = 1):
        self.sensitive_feature = sensitive_feature
        self.sensitive_depth = sensitive_depth
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf

    # -------------------------------------------------------------- fitting
    def fit(self, x: Any, y: Any) -> "SensitiveDepthTree":
        x = _validate.array("x", x, ndim=2, dtype_kind="fiub").astype(np.float64)
        y = _validate.array("y", y, ndim=1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"Expected y with {x.shape[0]} rows; got y.shape={y.shape}.")
        if not 0 <= self.sensitive_feature < x.shape[1]:
            raise ValueError(f"Expected sensitive_feature={self.sensitive_feature} in "
                             f"[0, {x.shape[1] - 1}].")
        _validate.positive("sensitive_depth", self.sensitive_depth, allow_zero=True)
        _validate.positive("max_depth", self.max_depth)
        _validate.positive("min_samples_leaf", self.min_samples_leaf)
        if self.sensitive_depth >= self.max_depth:
            raise ValueError(f"Expected sensitive_depth={self.sensitive_depth} < "
                             f"max_depth={self.max_depth}.")
        self.classes_, yi = np.unique(y, return_inverse=True)
        self.n_features_in_ = x.shape[1]
        nc = self.classes_.size
        feat, thr, left, right, counts, depth = [], [], [], [], [], []

        def new(rows, d):
            feat.append(-2)
            thr.append(-2.0)
            left.append(-1)
            right.append(-1)
            counts.append(np.bincount(yi[rows], minlength=nc).astype(np.float64))
            depth.append(d)
            return len(feat) - 1

        stack = [(new(np.arange(x.shape[0]), 0), np.arange(x.shape[0]), 0)]
        while stack:
            node, rows, d = stack.pop()
            if d >= self.max_depth or np.unique(yi[rows]).size < 2:
                continue
            if d == self.sensitive_depth:
                cands = [self.sensitive_feature]
            else:
                cands = [f for f in range(x.shape[1]) if f != self.sensitive_feature]
            split = self._best_split(x[rows], yi[rows], nc, cands)
            if split is None:
                continue
            f, t = split
            go = x[rows, f] <= t
            feat[node], thr[node] = f, t
            lnode = new(rows[go], d + 1)
            rnode = new(rows[~go], d + 1)
            left[node], right[node] = lnode, rnode
            stack.append((rnode, rows[~go], d + 1))
            stack.append((lnode, rows[go], d + 1))

        counts = np.stack(counts)

        class _Tree:  # scikit-learn's tree_ field names
            pass

        t = _Tree()
        t.feature = np.asarray(feat, np.int64)
        t.threshold = np.asarray(thr, np.float64)
        t.children_left = np.asarray(left, np.int64)
        t.children_right = np.asarray(right, np.int64)
        t.value = (counts / counts.sum(axis=1, keepdims=True))[:, None, :]
        t.n_node_samples = counts.sum(axis=1).astype(np.int64)
        t.node_count = len(feat)
        t.max_depth = int(max(depth))
        self.tree_ = t
        self.node_counts_ = counts
        self.node_depth_ = np.asarray(depth, np.int64)
        return self

    def _best_split(self, x, y, nc, cands):
        n = y.size
        best, best_imp = None, _gini(np.bincount(y, minlength=nc).astype(np.float64)) - 1e-12
        onehot = np.eye(nc)[y]
        for f in cands:
            order = np.argsort(x[:, f], kind="stable")
            xs = x[order, f]
            cum = np.cumsum(onehot[order], axis=0)[:-1]            # left counts, [n-1, c]
            tot = cum[-1] + onehot[order[-1]]
            ok = xs[1:] > xs[:-1]                                   # a threshold between
            nl = np.arange(1, n)
            ok &= (nl >= self.min_samples_leaf) & (n - nl >= self.min_samples_leaf)
            if not ok.any():
                continue
            imp = (nl * _gini(cum) + (n - nl) * _gini(tot[None] - cum)) / n
            imp = np.where(ok, imp, np.inf)
            i = int(np.argmin(imp))
            if imp[i] < best_imp:
                best_imp = imp[i]
                best = (f, float((xs[i] + xs[i + 1]) / 2))
        return best

    # -------------------------------------------------------------- prediction
    def apply(self, x: Any) -> np.ndarray:
        """Leaf index of each row, ``[n]``."""
        x = _validate.array("x", x, ndim=2, dtype_kind="fiub").astype(np.float64)
        t = self.tree_
        node = np.zeros(x.shape[0], np.int64)
        for _ in range(t.max_depth + 1):
            leaf = t.children_left[node] < 0
            go_left = x[np.arange(x.shape[0]), np.maximum(t.feature[node], 0)] <= \
                t.threshold[node]
            node = np.where(leaf, node, np.where(go_left, t.children_left[node],
                                                 t.children_right[node]))
        return node

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.tree_.value[self.apply(x), 0]

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]

    def get_depth(self) -> int:
        return int(self.tree_.max_depth)

    def get_n_leaves(self) -> int:
        return int(np.sum(self.tree_.children_left < 0))

    def sensitive_depths(self) -> np.ndarray:
        """Depths of the nodes that split on the sensitive feature."""
        return np.unique(self.node_depth_[self.tree_.feature == self.sensitive_feature])

    def to_tree_arrays(self) -> TreeArrays:
        """The fitted tree as :class:`jaxpriv.models.TreeArrays` (training counts per node)."""
        t = self.tree_
        return TreeArrays(
            feature=jnp.asarray(t.feature, jnp.int32),
            threshold=jnp.asarray(t.threshold, jnp.float32),
            left=jnp.asarray(t.children_left, jnp.int32),
            right=jnp.asarray(t.children_right, jnp.int32),
            value=jnp.asarray(t.value[:, 0], jnp.float32),
            counts=jnp.asarray(self.node_counts_, jnp.float32),
            depth=int(t.max_depth))
