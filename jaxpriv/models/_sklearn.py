"""Converters from fitted scikit-learn models to ``(apply_fn, params)``."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def _linear_logits(params, x):
    return x @ params["w"] + params["b"][None, :]


def from_sklearn_logistic(clf: Any) -> tuple[Callable, dict]:
    """A fitted ``LogisticRegression`` as ``(apply_fn, params)`` returning logits.

    Binary models (``coef_`` of shape ``[1, d]``) become two-class logits
    ``[0, x w + b]`` so that ``softmax`` gives the same probabilities as
    ``predict_proba``. Multinomial models give ``x W + b`` (scikit-learn's
    softmax over those logits). One-vs-rest models are rejected since their
    probabilities are not a softmax.

    Returns:
      ``apply_fn(params, x[n, d]) -> logits[n, c]`` and
      ``params = {"w": [d, c], "b": [c]}`` as float32 arrays.
    """
    if not hasattr(clf, "coef_"):
        raise ValueError("Expected a fitted LogisticRegression (no coef_ attribute).")
    coef = np.asarray(clf.coef_, np.float64)
    intercept = np.asarray(clf.intercept_, np.float64)
    if coef.shape[0] == 1:
        w = np.concatenate([np.zeros((coef.shape[1], 1)), coef.T], axis=1)
        b = np.concatenate([[0.0], intercept])
    else:
        multi = getattr(clf, "multi_class", "auto")
        if multi == "ovr":
            raise ValueError(
                "Expected a multinomial LogisticRegression; got multi_class='ovr', "
                "whose probabilities are not a softmax of linear logits.")
        w, b = coef.T, intercept
    params = {"w": jnp.asarray(w, jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    return _linear_logits, params


def _linear_value(params, x):
    return x @ params["w"] + params["b"]


def from_sklearn_linear(reg: Any) -> tuple[Callable, dict]:
    """A fitted ``LinearRegression`` (one target) as ``(apply_fn, params)``.

    Returns:
      ``apply_fn(params, x[n, d]) -> value[n]`` and ``params = {"w": [d], "b": []}``.
    """
    if not hasattr(reg, "coef_"):
        raise ValueError("Expected a fitted LinearRegression (no coef_ attribute).")
    coef = np.asarray(reg.coef_, np.float64)
    if coef.ndim != 1:
        raise ValueError(f"Expected a single-target regression; got coef_.shape={coef.shape}.")
    params = {"w": jnp.asarray(coef, jnp.float32),
              "b": jnp.asarray(np.float64(reg.intercept_), jnp.float32)}
    return _linear_value, params


class TreeArrays(NamedTuple):
    """A decision tree as flat arrays (scikit-learn's node numbering).

    Attributes:
      feature: int32 ``[nodes]``, split feature (-2 at leaves).
      threshold: float32 ``[nodes]``, go left when ``x[feature] <= threshold``.
      left, right: int32 ``[nodes]``, children (-1 at leaves).
      value: float32 ``[nodes, num_classes]``, class distribution at each node.
      counts: float32 ``[nodes, num_classes]``, training rows of each class
        reaching each node (per-leaf training counts for white-box inversion).
      depth: int, maximum depth (number of steps from root to deepest leaf).
    """

    feature: jax.Array
    threshold: jax.Array
    left: jax.Array
    right: jax.Array
    value: jax.Array
    counts: jax.Array
    depth: int

    @property
    def is_leaf(self) -> jax.Array:
        return self.left < 0

    @property
    def num_leaves(self) -> int:
        return int(np.sum(np.asarray(self.left) < 0))


def from_sklearn_tree(clf: Any, x: np.ndarray | None = None,
                      y: np.ndarray | None = None) -> TreeArrays:
    """A fitted ``DecisionTreeClassifier`` as :class:`TreeArrays`.

    Args:
      clf: fitted classifier.
      x, y: optional training data; when given, per-node class counts are
        counted exactly from them (``clf.apply``); otherwise they are rebuilt
        from ``n_node_samples`` and the node class fractions.
    """
    if not hasattr(clf, "tree_"):
        raise ValueError("Expected a fitted DecisionTreeClassifier (no tree_ attribute).")
    t = clf.tree_
    value = np.asarray(t.value[:, 0, :], np.float64)
    frac = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
    if x is not None and y is not None:
        classes = list(clf.classes_)
        yi = np.array([classes.index(v) for v in np.asarray(y)])
        path = clf.decision_path(np.asarray(x, np.float32)).tocoo()
        counts = np.zeros_like(frac)
        np.add.at(counts, (path.col, yi[path.row]), 1.0)
    else:
        counts = frac * t.n_node_samples[:, None]
    return TreeArrays(
        feature=jnp.asarray(t.feature, jnp.int32),
        threshold=jnp.asarray(t.threshold, jnp.float32),
        left=jnp.asarray(t.children_left, jnp.int32),
        right=jnp.asarray(t.children_right, jnp.int32),
        value=jnp.asarray(frac, jnp.float32),
        counts=jnp.asarray(counts, jnp.float32),
        depth=int(clf.get_depth()),
    )


def tree_leaf(tree: TreeArrays, x: jax.Array) -> jax.Array:
    """Leaf id reached by each row. ``x[n, d] -> int32 [n]``; jit-compatible."""

    def one(row):
        def step(_, node):
            leaf = tree.left[node] < 0
            go_left = row[jnp.maximum(tree.feature[node], 0)] <= tree.threshold[node]
            nxt = jnp.where(go_left, tree.left[node], tree.right[node])
            return jnp.where(leaf, node, nxt)

        return jax.lax.fori_loop(0, tree.depth, step, jnp.int32(0))

    return jax.vmap(one)(x)


def tree_predict_proba(tree: TreeArrays, x: jax.Array) -> jax.Array:
    """Class probabilities ``[n, c]`` of the leaf each row reaches."""
    return tree.value[tree_leaf(tree, x)]


def tree_apply(tree: TreeArrays, x: jax.Array) -> jax.Array:
    """``apply_fn`` form for trees: log of leaf class fractions, ``[n, c]``.

    ``softmax`` of the result returns the leaf distribution (a tiny floor keeps
    zero-probability classes finite).
    """
    return jnp.log(jnp.maximum(tree_predict_proba(tree, x), 1e-12))
