"""MAP inversion of a sensitive feature: decision trees and linear models.

The attacker knows a row's other features and the model's output for it (the
label ``y`` for a tree, the predicted value for a regression) and picks the
value ``v`` of the sensitive feature that maximises a posterior score. Every
row and every candidate value is scored at once: the candidates are stacked
as ``[n, V, d]`` rows and the model runs once on all of them.

* Trees, black-box (Fredrikson et al., USENIX Security 2014, Section 4; used
  as the black-box attack of Fredrikson, Jha, Ristenpart, CCS 2015, Section 4.1):
  ``score(v) = prior(v) * C[f(x_v), y]`` with ``C[yhat, y] = P(true y | prediction
  yhat)``, the model's confusion matrix, and ``prior`` the marginal of the
  sensitive feature.
* Trees, white-box (CCS 2015, Section 4.2): the attacker also knows how many
  training rows of each class reached each leaf (``TreeArrays.counts``).
  ``score(v) = prior(v) * counts[leaf(x_v), y]``: the training rows of the
  known class ``y`` in the leaf that ``v`` reaches, weighted by the prior.
  When the path does not test the sensitive feature all candidates reach one
  leaf and the prior decides; when it does, a member's own row sits in the
  leaf of its true value, which is why the estimator is precise on training
  rows and not on others (the paper's central finding).
* Linear models (USENIX Security 2014, Section 3): ``y = f(x) + e`` with
  ``e ~ N(0, sigma^2)``: ``log score(v) = -(y - f(x_v))^2 / (2 sigma^2) + log prior(v)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.models import TreeArrays, tree_leaf

TREE_METHODS = ("auto", "whitebox", "blackbox")


def _is_oracle(obj) -> bool:
    return hasattr(obj, "pure_fn") and hasattr(obj, "require")


# ----------------------------------------------------------------------------
# Helpers the attacker uses to build its priors and error model
# ----------------------------------------------------------------------------

def marginal_prior(column: Any, num_values: int, *, smoothing: float = 0.0) -> np.ndarray:
    """The marginal distribution of a categorical column of codes ``0..V-1``.

    Args:
      column: int-valued ``[n]`` codes.
      num_values: ``V``.
      smoothing: added to every count (Laplace smoothing).

    Returns:
      float32 ``[V]`` summing to 1.
    """
    col = _validate.array("column", column, ndim=1, dtype_kind="fiu")
    codes = col.astype(np.int64)
    if np.any(codes != col) or codes.min() < 0 or codes.max() >= num_values:
        raise ValueError(f"Expected column to hold codes in [0, {num_values - 1}]; got values "
                         f"{np.unique(col)[:10]}.")
    counts = np.bincount(codes, minlength=num_values).astype(np.float64) + smoothing
    return (counts / counts.sum()).astype(np.float32)


def confusion_matrix(pred: Any, truth: Any, num_classes: int, *,
                     smoothing: float = 0.0) -> np.ndarray:
    """The error model ``C[yhat, y] = P(true label y | prediction yhat)``.

    Rows with no prediction fall back to uniform.

    Returns:
      float32 ``[num_classes, num_classes]``, rows summing to 1.
    """
    p = _validate.labels("pred", pred, num_classes)
    t = _validate.labels("truth", truth, num_classes, n=p.shape[0])
    c = np.zeros((num_classes, num_classes)) + smoothing
    np.add.at(c, (p, t), 1.0)
    tot = c.sum(axis=1, keepdims=True)
    c = np.where(tot > 0, c / np.maximum(tot, 1e-12), 1.0 / num_classes)
    return c.astype(np.float32)


# ----------------------------------------------------------------------------
# Decision trees
# ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, kw_only=True)
class TreeInversionConfig:
    """Settings of decision-tree inversion.

    Attributes:
      sensitive: the column of ``x`` holding the sensitive feature.
      values: the candidate values (codes) of the sensitive feature, ``V`` of them.
      method: ``"whitebox"`` (per-leaf training counts; needs a
        :class:`~jaxpriv.models.TreeArrays` target), ``"blackbox"`` (confusion
        matrix and prior; a tree or an oracle), or ``"auto"`` (white-box for a
        tree, black-box for an oracle).
    """

    sensitive: int
    values: tuple[float, ...] = (0.0, 1.0)
    method: str = "auto"

    def __post_init__(self):
        _validate.positive("sensitive", self.sensitive, allow_zero=True)
        if len(self.values) < 2:
            raise ValueError(f"Expected at least 2 candidate values; got values={self.values!r}.")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"Expected distinct candidate values; got values={self.values!r}.")
        _validate.one_of("method", self.method, TREE_METHODS)


class TreeInversionData(NamedTuple):
    """What the attacker knows about each target row.

    Attributes:
      x: float ``[n, d]`` rows; the sensitive column's content is ignored.
      y: int ``[n]`` the model's label for each row (the known class).
      prior: float ``[V]`` marginal of the sensitive feature over the values.
      confusion: float ``[C, C]`` ``P(true y | prediction yhat)`` (black-box
        only; see :func:`confusion_matrix`).
    """

    x: Any
    y: Any
    prior: Any
    confusion: Any = None


class InversionResult(NamedTuple):
    """Per-row MAP guesses.

    Attributes:
      guess: int32 ``[n]``, index into the candidate values.
      value: float32 ``[n]``, the guessed value (``values[guess]`` for trees;
        for linear models the index itself, as the values are code vectors).
      scores: float32 ``[n, V]``, normalised posterior of each candidate.
      queries: int, oracle queries made (0 for white-box attacks).
    """

    guess: jax.Array
    value: jax.Array
    scores: jax.Array
    queries: int


def _pad_tree(tree: TreeArrays) -> TreeArrays:
    """Pads the node arrays to the next power of two (at least 64) so trees of
    similar size share one compiled program; padded nodes are unreachable leaves."""
    nodes = int(tree.feature.shape[0])
    size = max(64, 1 << (nodes - 1).bit_length())
    pad = size - nodes
    # NumPy on the host: eager jnp ops would compile once per tree size.
    fill = lambda a, v: np.concatenate([np.asarray(a), np.full((pad,) + a.shape[1:], v,
                                                               np.asarray(a).dtype)])
    return TreeArrays(fill(tree.feature, -2), fill(tree.threshold, -2.0), fill(tree.left, -1),
                      fill(tree.right, -1), fill(tree.value, 0.0), fill(tree.counts, 0.0),
                      tree.depth)


def _candidates(x, sensitive_cols, codes):
    # x [n, d], codes [V, k] -> [n, V, d] with the sensitive columns set.
    n, d = x.shape
    v = codes.shape[0]
    xs = jnp.broadcast_to(x[:, None, :], (n, v, d))
    return xs.at[:, :, sensitive_cols].set(jnp.broadcast_to(codes[None], (n,) + codes.shape))


def _decide(score, prior):
    """Normalised posterior and argmax; ties (and all-zero rows) go to the prior."""
    tot = jnp.sum(score, axis=1, keepdims=True)
    post = jnp.where(tot > 0, score / jnp.maximum(tot, 1e-30), prior[None, :])
    guess = jnp.argmax(post + 1e-6 * prior[None, :], axis=1).astype(jnp.int32)
    return post, guess


@jax.jit
def _tree_whitebox(tree, x, y, sensitive_cols, codes, prior):
    n, v = x.shape[0], codes.shape[0]
    leaves = tree_leaf(tree, _candidates(x, sensitive_cols, codes).reshape(n * v, -1))
    leaves = leaves.reshape(n, v)
    count = tree.counts[leaves, y[:, None]]                       # [n, V]
    return _decide(prior[None, :] * count, prior)


def _tree_blackbox_core(yhat_fn, x, y, sensitive_cols, codes, prior, confusion):
    n, v = x.shape[0], codes.shape[0]
    out = yhat_fn(_candidates(x, sensitive_cols, codes).reshape(n * v, -1))
    yhat = out if out.ndim == 1 else jnp.argmax(out, axis=-1)
    yhat = yhat.reshape(n, v).astype(jnp.int32)
    score = prior[None, :] * confusion[yhat, y[:, None]]
    return _decide(score, prior)


@functools.partial(jax.jit, static_argnames=("predict",))
def _tree_blackbox_oracle(key, x, y, sensitive_cols, codes, prior, confusion, *, predict):
    return _tree_blackbox_core(lambda z: predict(key, z), x, y, sensitive_cols, codes, prior,
                               confusion)


@jax.jit
def _tree_blackbox_tree(tree, x, y, sensitive_cols, codes, prior, confusion):
    return _tree_blackbox_core(lambda z: tree.value[tree_leaf(tree, z)], x, y, sensitive_cols,
                               codes, prior, confusion)


def invert_tree(key: jax.Array, target: Any, data: TreeInversionData,
                config: TreeInversionConfig) -> InversionResult:
    """MAP inversion of a sensitive feature from a decision tree, for all rows at once.

    Fredrikson, Jha, Ristenpart (CCS 2015, Section 4): the white-box estimator
    weights each candidate value by the training rows of the known class in
    the leaf it reaches (``TreeArrays.counts``); the black-box one (Fredrikson
    et al., USENIX Security 2014) by the prior times the model's confusion
    matrix at the predicted label. See the module docstring for the formulas.

    Args:
      key: PRNG key (for oracles with randomised defences).
      target: a :class:`jaxpriv.models.TreeArrays` (white- or black-box use)
        or a :class:`jaxpriv.oracles.Oracle` over the tree (black-box:
        probabilities or labels).
      data: :class:`TreeInversionData`.
      config: :class:`TreeInversionConfig`.

    Returns:
      :class:`InversionResult`; the oracle is charged ``n * V`` queries.

    Example:
      >>> tree = from_sklearn_tree(clf, x_train, y_train)
      >>> res = invert_tree(key, tree, TreeInversionData(x, y, prior),
      ...                   TreeInversionConfig(sensitive=6))
    """
    if not isinstance(config, TreeInversionConfig):
        raise ValueError("Expected config to be a TreeInversionConfig; got "
                         f"{type(config).__name__}.")
    oracle = _is_oracle(target)
    if not oracle and not isinstance(target, TreeArrays):
        raise ValueError("Expected target to be a TreeArrays or an Oracle; got "
                         f"{type(target).__name__}.")
    method = config.method
    if method == "auto":
        method = "blackbox" if oracle else "whitebox"
    if method == "whitebox" and oracle:
        raise ValueError("Expected a TreeArrays target for method='whitebox' (it needs the "
                         "per-leaf training counts); got an Oracle. Use method='blackbox'.")
    x = _validate.array("data.x", data.x, ndim=2, dtype_kind="fiub")
    if config.sensitive >= x.shape[1]:
        raise ValueError(f"Expected config.sensitive={config.sensitive} < "
                         f"{x.shape[1]} (columns of data.x).")
    num_values = len(config.values)
    prior = _validate.array("data.prior", data.prior, shape=(num_values,), dtype_kind="f")
    if np.any(prior < 0) or not np.isclose(prior.sum(), 1.0, atol=1e-3):
        raise ValueError(f"Expected data.prior to be a distribution over {num_values} values; "
                         f"got {prior}.")
    if oracle:
        from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK

        target.require(PROBABILITIES, TOPK, LABEL, attack="black-box tree inversion")
        num_classes = None
    else:
        num_classes = int(target.value.shape[1])
    if method == "blackbox":
        confusion = _validate.array("data.confusion", data.confusion, ndim=2, dtype_kind="f")
        if confusion.shape[0] != confusion.shape[1]:
            raise ValueError(f"Expected data.confusion to be square; got {confusion.shape}.")
        num_classes = num_classes or confusion.shape[0]
        if confusion.shape[0] != num_classes:
            raise ValueError(f"Expected data.confusion of shape ({num_classes}, {num_classes});"
                             f" got {confusion.shape}.")
    y = _validate.labels("data.y", data.y, num_classes or int(1e9), n=x.shape[0])
    xj = np.asarray(x, np.float32)
    yj = np.asarray(y, np.int32)
    cols = np.asarray([config.sensitive], np.int32)
    codes = np.asarray(config.values, np.float32)[:, None]
    pj = np.asarray(prior, np.float32)
    queries = 0
    if method == "whitebox":
        post, guess = _tree_whitebox(_pad_tree(target), xj, yj, cols, codes, pj)
    else:
        args = (xj, yj, cols, codes, pj, np.asarray(confusion, np.float32))
        if oracle:
            queries = x.shape[0] * num_values
            target.reserve(queries)
            post, guess = _tree_blackbox_oracle(key, *args, predict=target.pure_fn)
            target.charge(queries)
        else:
            post, guess = _tree_blackbox_tree(_pad_tree(target), *args)
    value = np.asarray(config.values, np.float32)[np.asarray(guess)]
    return InversionResult(guess, jnp.asarray(value), post, queries)


def tree_inversion_baselines(key: jax.Array, num_rows: int, prior: Any) -> dict[str, np.ndarray]:
    """The paper's trivial baselines (CCS 2015, Table 1): ``"random"`` (uniform
    over the values) and ``"majority"`` (always the most frequent value).

    Returns:
      ``{"random": int [n], "majority": int [n]}``, indices into the values.
    """
    prior = _validate.array("prior", prior, ndim=1, dtype_kind="f")
    rnd = np.asarray(jax.random.randint(key, (int(num_rows),), 0, prior.shape[0]))
    return {"random": rnd.astype(np.int32),
            "majority": np.full(int(num_rows), int(np.argmax(prior)), np.int32)}


def ideal_baseline(x_fit: Any, y_fit: Any, x_eval: Any, y_eval: Any, sensitive: int,
                   values: tuple[float, ...] = (0.0, 1.0), *, max_depth: int | None = None,
                   seed: int = 0) -> np.ndarray:
    """The paper's "ideal" baseline (CCS 2015, Table 1): a tree trained to predict
    the sensitive feature from the other features and the label.

    A scikit-learn ``DecisionTreeClassifier`` (host side) is fitted on
    ``x_fit`` (without the sensitive column, with the label one-hot appended)
    and predicts for ``x_eval``; fitted on the rows it is evaluated on, it is
    the upper bound the paper reports (99.8% accuracy).

    Returns:
      int32 ``[n_eval]``, indices into ``values``.
    """
    from sklearn.tree import DecisionTreeClassifier

    x_fit = _validate.array("x_fit", x_fit, ndim=2)
    x_eval = _validate.array("x_eval", x_eval, ndim=2, shape=(None, x_fit.shape[1]))
    y_fit = _validate.array("y_fit", y_fit, ndim=1, dtype_kind="iu")
    y_eval = _validate.array("y_eval", y_eval, ndim=1, dtype_kind="iu")
    num_classes = int(max(y_fit.max(), y_eval.max())) + 1

    def feats(x, y):
        rest = np.delete(x, sensitive, axis=1)
        return np.concatenate([rest, np.eye(num_classes)[y]], axis=1)

    target = np.searchsorted(np.asarray(values, np.float64), x_fit[:, sensitive])
    clf = DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
    clf.fit(feats(x_fit, y_fit), target)
    return clf.predict(feats(x_eval, y_eval)).astype(np.int32)


# ----------------------------------------------------------------------------
# Linear models (Fredrikson et al., USENIX Security 2014)
# ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, kw_only=True)
class LinearInversionConfig:
    """Settings of linear-model MAP inversion.

    Attributes:
      sigma: standard deviation of the Gaussian error model
        ``y = f(x) + N(0, sigma^2)`` (e.g. the model's training RMSE).
    """

    sigma: float

    def __post_init__(self):
        _validate.positive("sigma", self.sigma)


class LinearInversionData(NamedTuple):
    """What the attacker knows about each target row.

    Attributes:
      x: float ``[n, p]`` the model's inputs; the sensitive columns' content is
        ignored.
      y: float ``[n]`` the observed outcome on the model's output scale (e.g.
        the square root of the warfarin dose).
      sensitive_columns: int ``[k]`` columns of ``x`` that encode the feature.
      codes: float ``[V, k]``: what those columns hold for each value.
      prior: float ``[V]`` marginal of the sensitive feature.
    """

    x: Any
    y: Any
    sensitive_columns: Any
    codes: Any
    prior: Any


def _linear_core(predict, x, y, cols, codes, prior, sigma):
    n, v = x.shape[0], codes.shape[0]
    out = predict(_candidates(x, cols, codes).reshape(n * v, -1)).reshape(n, v)
    logpost = -0.5 * jnp.square((y[:, None] - out) / sigma) + jnp.log(
        jnp.maximum(prior, 1e-30))[None, :]
    post = jax.nn.softmax(logpost, axis=1)
    return post, jnp.argmax(logpost, axis=1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("apply_fn",))
def _linear_whitebox(params, x, y, cols, codes, prior, sigma, *, apply_fn):
    return _linear_core(lambda z: apply_fn(params, z), x, y, cols, codes, prior, sigma)


@functools.partial(jax.jit, static_argnames=("predict",))
def _linear_oracle(key, x, y, cols, codes, prior, sigma, *, predict):
    return _linear_core(lambda z: predict(key, z), x, y, cols, codes, prior, sigma)


def invert_linear(key: jax.Array, target: Any, data: LinearInversionData,
                  config: LinearInversionConfig) -> InversionResult:
    """MAP inversion of a sensitive feature from a regression model.

    Fredrikson, Lantz, Jha, Lin, Page, Ristenpart, "Privacy in
    Pharmacogenetics", USENIX Security 2014, Section 3: given a patient's
    other attributes and the model's output (the stable warfarin dose),
    enumerate the candidate genotypes, and pick the one maximising
    ``N(y; f(x_v), sigma^2) * prior(v)``. All rows and candidates are scored by
    one call to the model.

    Args:
      key: PRNG key (for oracles with randomised defences).
      target: white-box ``(apply_fn, params)`` with ``apply_fn(params,
        x[n, p]) -> [n]`` (or ``[n, 1]``), e.g.
        :func:`jaxpriv.models.from_sklearn_linear`; or an Oracle of kind
        ``"value"`` (charged ``n * V`` queries).
      data: :class:`LinearInversionData`.
      config: :class:`LinearInversionConfig`.

    Returns:
      :class:`InversionResult` with indices into the rows of ``data.codes``.

    Example:
      >>> design = warfarin_design_matrix(ds)
      >>> data = LinearInversionData(design.matrix, np.sqrt(ds.y), design.sensitive_columns,
      ...                            design.sensitive_codes, prior)
      >>> res = invert_linear(key, from_sklearn_linear(reg), data,
      ...                     LinearInversionConfig(sigma=rmse))
    """
    if not isinstance(config, LinearInversionConfig):
        raise ValueError("Expected config to be a LinearInversionConfig; got "
                         f"{type(config).__name__}.")
    x = _validate.array("data.x", data.x, ndim=2, dtype_kind="fiub")
    y = _validate.array("data.y", data.y, shape=(x.shape[0],), dtype_kind="fiu")
    cols = _validate.array("data.sensitive_columns", data.sensitive_columns, ndim=1,
                           dtype_kind="iu")
    if cols.min() < 0 or cols.max() >= x.shape[1]:
        raise ValueError(f"Expected data.sensitive_columns in [0, {x.shape[1] - 1}]; got "
                         f"{cols}.")
    codes = _validate.array("data.codes", data.codes, ndim=2, shape=(None, cols.shape[0]),
                            dtype_kind="fiub")
    prior = _validate.array("data.prior", data.prior, shape=(codes.shape[0],), dtype_kind="f")
    if np.any(prior < 0) or not np.isclose(prior.sum(), 1.0, atol=1e-3):
        raise ValueError(f"Expected data.prior to be a distribution; got {prior}.")
    args = (jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), jnp.asarray(cols),
            jnp.asarray(codes, jnp.float32), jnp.asarray(prior, jnp.float32),
            jnp.float32(config.sigma))
    queries = 0
    if _is_oracle(target):
        from jaxpriv.oracles import VALUE

        target.require(VALUE, attack="linear-model inversion")
        queries = x.shape[0] * codes.shape[0]
        target.reserve(queries)
        post, guess = _linear_oracle(key, *args, predict=target.pure_fn)
        target.charge(queries)
    elif isinstance(target, tuple) and len(target) == 2 and callable(target[0]):
        post, guess = _linear_whitebox(target[1], *args, apply_fn=target[0])
    else:
        raise ValueError("Expected target=(apply_fn, params) or an Oracle; got "
                         f"{type(target).__name__}.")
    return InversionResult(guess, guess.astype(jnp.float32), post, queries)
