"""MID: mutual-information regularisation against model inversion.

Wang, Zhang, Jia, "Improving Robustness to Model Inversion Attacks via Mutual
Information Regularization", AAAI 2021. The defence penalises the mutual
information between the input X and the model output; for neural networks it
uses the variational information bottleneck (Alemi et al., ICLR 2017): an
encoder maps ``x`` to the mean and standard deviation of a Gaussian code
``z``, a classifier head maps a sampled ``z`` to logits, and training
minimises ``CE(head(z), y) + lambda * KL(N(mu, sigma^2) || N(0, I))``, the KL
being a variational upper bound on ``I(X; Z)`` (Section 4 of the paper).

This module holds the network variant (a Flax model usable anywhere a
:class:`jaxpriv.models.Model` is), the linear-regression variant, the
decision-tree variant (modified ID3) and the paper's bound on the mutual
information leaked by an (epsilon, delta)-DP learner.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv.defenses import _trainer
from jaxpriv.models import Model

# ----------------------------------------------------------------------------- network


class VIB(nn.Module):
    """Information-bottleneck classifier (MID for neural networks).

    ``encode(x[n, d]) -> (mu [n, k], std [n, k])`` with ``std =
    softplus(s - 5)`` as in the paper's code; ``head(z[n, k]) -> logits``;
    ``__call__(x)`` returns the logits of the code mean (deterministic
    prediction, what a deployed model answers).
    """

    hidden: Sequence[int]
    bottleneck: int
    num_classes: int

    def setup(self):
        self.enc = [nn.Dense(w, name=f"enc_{i}") for i, w in enumerate(self.hidden)]
        self.stats = nn.Dense(2 * self.bottleneck, name="stats")
        self.cls = nn.Dense(self.num_classes, name="head")

    def encode(self, x):
        for layer in self.enc:
            x = nn.relu(layer(x))
        s = self.stats(x)
        mu, raw = s[..., :self.bottleneck], s[..., self.bottleneck:]
        return mu, nn.softplus(raw - 5.0)

    def head(self, z):
        return self.cls(z)

    def __call__(self, x):
        mu, _ = self.encode(x)
        return self.head(mu)


def make_mid_model(*, num_features: int, num_classes: int, hidden: Sequence[int] = (256,),
                   bottleneck: int = 64) -> Model:
    """The MID network as a :class:`jaxpriv.models.Model` named ``"mid"``.

    ``model.apply(params, x[n, d]) -> logits[n, c]`` (code mean);
    :func:`mid_loss` gives the training objective.

    Example:
      >>> m = make_mid_model(num_features=10304, num_classes=40)
      >>> params = m.init(jax.random.key(0), jnp.zeros((1, 10304)))
    """
    _validate.positive("num_features", num_features)
    _validate.positive("bottleneck", bottleneck)
    if num_classes < 2:
        raise ValueError(f"Expected num_classes={num_classes} >= 2.")
    module = VIB(tuple(hidden), bottleneck, num_classes)

    def init(key, x):
        return module.init(key, x)["params"]

    def apply(params, x):
        return module.apply({"params": params}, x)

    return Model("mid", init, apply, module, num_features, num_classes)


def _module(model: Model) -> VIB:
    if not isinstance(model.module, VIB):
        raise ValueError(f"Expected a MID model from make_mid_model; got model={model.name!r}.")
    return model.module


def mid_encode(model: Model):
    """``encode(params, x[n, d]) -> (mu [n, k], std [n, k])``."""
    module = _module(model)
    return lambda params, x: module.apply({"params": params}, x, method=VIB.encode)


def _vib_objective(mu, std, head, eps, y, w, lam):
    """``(ce + lam * kl, (ce, kl))`` from the code statistics and the draws
    ``eps [num_samples, B, k]`` (see :func:`mid_loss`)."""
    z = mu[None] + std[None] * eps
    logits = head(z)
    ce = optax.softmax_cross_entropy_with_integer_labels(
        logits, jnp.broadcast_to(y[None], logits.shape[:2])).mean(axis=0)
    kl = 0.5 * jnp.sum(jnp.square(mu) + jnp.square(std) - 2.0 * jnp.log(std + 1e-8) - 1.0,
                       axis=-1)
    wsum = jnp.maximum(jnp.sum(w), 1.0)
    ce, kl = jnp.sum(w * ce) / wsum, jnp.sum(w * kl) / wsum
    return ce + lam * kl, (ce, kl)


def _draw(key, module: VIB, num_samples: int, rows: int):
    """The code noise ``eps [num_samples, rows, k]``, drawn outside the
    differentiated loss (one draw, used by the forward and backward passes).

    There is no ``optimization_barrier`` around it. One was meant to keep XLA
    from fusing the normal's erfinv into each of the K models' consumers when
    a sweep's models share the key, but it changed nothing: XLA:CPU removes
    barriers partway through compilation, and the fusions of the compiled
    sweep step still read the erfinv's pieces; with and without it, the same
    numbers and step times (measured). Barriers do steer the passes before
    that point (the step trainer's one on large gradients, MI-Face's
    transposed copies), so they stay where a measurement showed an effect.
    """
    return jax.random.normal(key, (num_samples, rows, module.bottleneck), jnp.float32)


def _network_loss(model: Model):
    """``loss(params, eps, x, y, w, lam)`` of the network given the draws."""
    module = _module(model)

    def loss(params, eps, x, y, w, lam):
        mu, std = module.apply({"params": params}, x, method=VIB.encode)
        head = lambda z: module.apply({"params": params}, z, method=VIB.head)
        return _vib_objective(mu, std, head, eps.astype(mu.dtype), y, w, lam)

    return loss


def mid_loss(model: Model, num_samples: int = 1):
    """``loss(params, key, x[B, d], y[B], w[B], lam) -> (total, (ce, kl))``.

    ``ce`` averages the cross-entropy over ``num_samples`` codes
    ``z = mu + std * eps``; ``kl`` is the mean over rows of
    ``KL(N(mu, std^2) || N(0, I))`` (summed over code dimensions);
    ``total = ce + lam * kl``. Rows are weighted by ``w``.
    """
    module = _module(model)
    loss = _network_loss(model)

    def with_key(params, key, x, y, w, lam):
        return loss(params, _draw(key, module, num_samples, x.shape[0]), x, y, w, lam)

    return with_key


def _layer_names(module: VIB) -> list[str]:
    return [f"enc_{i}" for i in range(len(module.hidden))] + ["stats"]


def _bias(y, b):
    return y + jnp.reshape(b, (1,) * (y.ndim - 1) + (-1,))


def _dense(p, x):
    # flax.linen.Dense without dtype or precision settings.
    return _bias(x @ p["kernel"], p["bias"])


def _pre_loss(model: Model):
    """``loss(params, eps, pre, y, w, lam)``: :func:`_network_loss` given the
    first layer's ``x @ kernel`` (no bias), ``pre [B, h]``, instead of ``x``.
    It never reads the first kernel."""
    module = _module(model)
    names = _layer_names(module)

    def loss(params, eps, pre, y, w, lam):
        s = _bias(pre, params[names[0]]["bias"])
        for name in names[1:]:
            s = _dense(params[name], nn.relu(s))
        mu, raw = s[..., :module.bottleneck], s[..., module.bottleneck:]
        std = nn.softplus(raw - 5.0)
        head = lambda z: _dense(params["head"], z)
        return _vib_objective(mu, std, head, eps.astype(mu.dtype), y, w, lam)

    return loss


def _pre_grad(model: Model):
    """The gradient of :func:`_pre_loss`, written out:
    ``grad(params, eps, pre, y, w, lam) -> (grads like params, d loss / d pre, ce)``
    (the first kernel's entry is zero: the loss does not read it).

    The same numbers as ``jax.grad`` of :func:`_pre_loss` (tested), in about
    half the operations: on a CPU the Gram path's step is a few dozen small
    operations per model, and their count, not their arithmetic, is what a
    sweep's vmapped step spends its time on.
    """
    module = _module(model)
    names = _layer_names(module)
    k = module.bottleneck

    def grad(params, eps, pre, y, w, lam):
        # Forward, keeping what the backward pass needs.
        acts, s = [], _bias(pre, params[names[0]]["bias"])
        for name in names[1:]:
            acts.append(s)
            s = _dense(params[name], jnp.maximum(s, 0.0))
        mu, r = s[:, :k], s[:, k:] - 5.0
        std = nn.softplus(r)
        eps = eps.astype(mu.dtype)                                     # [S, B, k]
        z = mu[None] + std[None] * eps
        logits = _dense(params["head"], z)                             # [S, B, c]
        logp = jax.nn.log_softmax(logits)
        onehot = jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype)
        c = w / jnp.maximum(jnp.sum(w), 1.0)                           # row weights [B]
        picked = jnp.take_along_axis(logp, jnp.broadcast_to(
            y[None, :, None], logp.shape[:2] + (1,)), axis=-1)[..., 0]   # [S, B]
        ce = -jnp.sum(c * jnp.mean(picked, axis=0))
        # Backward.
        dlogits = (jnp.exp(logp) - onehot[None]) * (c[None, :, None] / eps.shape[0])
        g = {"head": {"kernel": jnp.einsum("sbk,sbc->kc", z, dlogits),
                      "bias": jnp.sum(dlogits, axis=(0, 1))}}
        dz = dlogits @ params["head"]["kernel"].T
        lc = (lam * c)[:, None]
        dmu = jnp.sum(dz, axis=0) + lc * mu
        dstd = jnp.sum(dz * eps, axis=0) + lc * (std - 1.0 / (std + 1e-8))
        ds = jnp.concatenate([dmu, dstd * jax.nn.sigmoid(r)], axis=1)  # d loss / d s
        for name, a in zip(reversed(names[1:]), reversed(acts)):
            h = jnp.maximum(a, 0.0)
            g[name] = {"kernel": h.T @ ds, "bias": jnp.sum(ds, axis=0)}
            ds = jnp.where(a > 0.0, ds @ params[name]["kernel"].T, 0.0)
        first = params[names[0]]
        g[names[0]] = {"kernel": jnp.zeros_like(first["kernel"]), "bias": jnp.sum(ds, axis=0)}
        return g, ds, ce

    return grad


_GRAD_FNS: dict = {}


def _l2_kernels(g, params, l2):
    return jax.tree_util.tree_map(lambda a, p: a + l2 * p * (p.ndim >= 2), g, params)


def _cached(kind: str, model: Model, num_samples: int, build):
    """``build()``, once per (kind, model, num_samples): the same function
    object each time, so jit reuses one compiled program."""
    cache_key = (kind, model.apply, num_samples)
    if cache_key not in _GRAD_FNS:
        _GRAD_FNS[cache_key] = build()
    return _GRAD_FNS[cache_key]


def mid_grad_fn(model: Model, num_samples: int = 1):
    """The MID gradient for :func:`jaxpriv.defenses._trainer.make_trainer`
    (``hyper`` holds ``lam`` and ``l2``); cached per model, so repeated runs
    reuse one compiled program."""
    return _cached("dense", model, num_samples, lambda: _build_grad_fn(model, num_samples))


def _build_grad_fn(model: Model, num_samples: int):
    module = _module(model)
    loss = _network_loss(model)

    def grad_fn(params, key, xb, yb, wb, h, denom):
        del denom
        eps = _draw(key, module, num_samples, xb.shape[0])
        (_, (ce, _)), g = jax.value_and_grad(loss, has_aux=True)(params, eps, xb, yb, wb,
                                                                 h["lam"])
        return _l2_kernels(g, params, h["l2"]), ce

    return grad_fn


def mid_gram_spec(model: Model, num_samples: int = 1) -> _trainer.GramSpec:
    """The :class:`jaxpriv.defenses._trainer.GramSpec` of a MID model: its
    first kernel and the MID gradient given that layer's output ``x @ kernel``
    (the Gram path of the trainer); cached per model like :func:`mid_grad_fn`."""
    return _cached("gram", model, num_samples, lambda: _build_gram_spec(model, num_samples))


def _build_gram_spec(model: Model, num_samples: int) -> _trainer.GramSpec:
    module = _module(model)
    grad = _pre_grad(model)

    def pre_grad_fn(params, key, pre, yb, wb, h, denom):
        del denom
        eps = _draw(key, module, num_samples, pre.shape[0])
        g, g_pre, ce = grad(params, eps, pre, yb, wb, h["lam"])
        return _l2_kernels(g, params, h["l2"]), g_pre, ce

    return _trainer.GramSpec((_layer_names(module)[0], "kernel"), pre_grad_fn)


class MIDHyper(NamedTuple):
    """Numeric MID settings; scalars, or ``[K]`` arrays in :func:`train_mid_many`.

    Attributes:
      lam: weight of the KL (information) term.
      learning_rate: optimizer step size.
      l2: L2 weight on kernels (``l2 / 2 |w|^2``).
    """

    lam: Any = 1e-2
    learning_rate: Any = 1e-3
    l2: Any = 0.0


def train_mid_many(keys: jax.Array, model: Model, x: Any, y: Any,
                   config: _trainer.StepConfig = _trainer.StepConfig(),
                   hyper: MIDHyper = MIDHyper(), *, num_samples: int = 1,
                   data_key: jax.Array | None = None) -> tuple[Any, jax.Array]:
    """Trains K MID models (e.g. a lambda sweep) as one vmapped program.

    Args:
      keys: ``[K]`` keys (init and code sampling per model).
      model: from :func:`make_mid_model`.
      x: ``[n, d]``; y: ``[n]`` labels.
      config: step settings (sampling, steps, batch size, optimizer). With
        ``optimizer="sgd"`` or ``"momentum"`` and more input features than
        training rows, the default ``first_layer="auto"`` trains the first
        kernel in the span of the rows (same model, much cheaper steps; see
        :mod:`jaxpriv.defenses._trainer`).
      hyper: :class:`MIDHyper` with scalars or ``[K]`` arrays.
      num_samples: codes sampled per row in the cross-entropy term.

    Returns:
      ``(params [K, ...], cross-entropy [K, steps])``.
    """
    _module(model)
    keys = jnp.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"Expected keys with shape [K] (typed keys); got shape {keys.shape}.")
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    y = _validate.labels("y", y, model.num_classes, n=x.shape[0])
    h = _trainer.as_hyper(keys.shape[0], **hyper._asdict())
    _validate.positive("hyper.lam", np.asarray(h["lam"]), allow_zero=True)
    if data_key is None:
        data_key = jax.random.fold_in(keys[0], 12345)
    return _trainer.train_many(keys, data_key, model.init, mid_grad_fn(model, num_samples), x,
                               y, config, h, gram=mid_gram_spec(model, num_samples),
                               desc=f"MID x{keys.shape[0]}")


def train_mid(key, model, x, y, config=_trainer.StepConfig(), hyper=MIDHyper(), **kw):
    """One MID model; returns ``(params, cross-entropy [steps])``."""
    params, loss = train_mid_many(key[None], model, x, y, config, hyper, **kw)
    return jax.tree_util.tree_map(lambda p: p[0], params), loss[0]


# ----------------------------------------------------------------------------- linear regression


class MIDLinear(NamedTuple):
    w: jax.Array  # [d]
    b: jax.Array  # []


def mid_linear_regression(x: Any, y: Any, lam: Any, *, noise_std: float = 1.0,
                          steps: int = 2000, learning_rate: float = 0.05) -> MIDLinear:
    """MID for linear regression (Wang, Zhang, Jia, AAAI 2021, Sec. 4, linear models).

    With a Gaussian input ``x ~ N(m, Sigma)`` and the released output
    ``y_hat = w.x + b + e``, ``e ~ N(0, noise_std^2)``, the information the
    output carries about the input is ``I(X; Y_hat) = 1/2 log(1 + w' Sigma w /
    noise_std^2)``. The defence minimises
    ``mean((y - x w - b)^2) + lam * 1/2 log(1 + w' Sigma w / noise_std^2)``
    (Sigma is the empirical covariance) by full-batch Adam, vmapped over
    ``lam`` when ``lam`` is ``[K]``.

    Args:
      x: ``[n, d]``; y: float ``[n]``.
      lam: scalar or ``[K]`` regularisation weights.
      noise_std: std of the output noise in the information term.

    Returns:
      :class:`MIDLinear` with ``w [d]`` (or ``[K, d]``), ``b []`` (or ``[K]``).
    """
    x = _validate.array("x", x, ndim=2, dtype_kind="fiu").astype(np.float32)
    y = _validate.array("y", y, ndim=1, dtype_kind="fiu").astype(np.float32)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"Expected y with {x.shape[0]} rows; got y.shape={y.shape}.")
    _validate.positive("noise_std", noise_std)
    lam_arr = np.asarray(lam, np.float32)
    _validate.positive("lam", lam_arr, allow_zero=True)
    xc = x - x.mean(axis=0)
    sigma = jnp.asarray(xc.T @ xc / x.shape[0])
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    # Start from the least-squares fit so small lam converges fast.
    design = np.concatenate([x, np.ones((x.shape[0], 1), np.float32)], axis=1)
    sol = np.linalg.lstsq(design, y, rcond=None)[0].astype(np.float32)
    init = MIDLinear(jnp.asarray(sol[:-1]), jnp.asarray(sol[-1]))
    tx = optax.adam(learning_rate)

    def objective(p, lm):
        r = yj - (xj @ p.w + p.b)
        info = 0.5 * jnp.log1p(p.w @ sigma @ p.w / noise_std ** 2)
        return jnp.mean(jnp.square(r)) + lm * info

    def solve(lm):
        def body(carry, _):
            p, o = carry
            g = jax.grad(objective)(p, lm)
            u, o = tx.update(g, o, p)
            return (optax.apply_updates(p, u), o), None

        (p, _), _ = jax.lax.scan(body, (init, tx.init(init)), None, length=steps)
        return p

    fn = jax.jit(jax.vmap(solve) if lam_arr.ndim else solve)
    return fn(jnp.asarray(lam_arr))


def linear_information(w: Any, x: Any, noise_std: float = 1.0) -> np.ndarray:
    """``1/2 log(1 + w' Sigma w / noise_std^2)`` (nats) for ``w [d]`` or ``[K, d]``."""
    x = np.asarray(x, np.float64)
    xc = x - x.mean(axis=0)
    sigma = xc.T @ xc / x.shape[0]
    w = np.asarray(w, np.float64)
    quad = np.einsum("...i,ij,...j->...", w, sigma, w)
    return 0.5 * np.log1p(quad / noise_std ** 2)


# ----------------------------------------------------------------------------- decision tree


def _entropy(counts: np.ndarray) -> float:
    c = counts[counts > 0].astype(np.float64)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


class MIDTree:
    """MID for decision trees: ID3 with an information penalty (Wang, Zhang,
    Jia, AAAI 2021, Sec. 4, decision trees).

    ID3 picks the categorical feature with the largest information gain
    ``IG(Y; A)``. A tree's output ``Y_hat`` is a function of the input, so
    ``I(X; Y_hat) = H(Y_hat)``; the modified criterion subtracts the
    growth of that entropy that the split causes:
    ``IG(Y; A) - lam * (H(Y_hat after) - H(Y_hat before))``, where
    ``Y_hat`` is the majority label of each leaf and entropies are over the
    training distribution. A split is made only when the criterion is
    positive. ``lam = 0`` is plain ID3.

    scikit-learn-style: ``fit(x, y)``, ``predict(x)``, ``predict_proba(x)``,
    ``get_depth()``, ``n_leaves_``. Features are integer codes.

    Args:
      lam: information penalty weight (>= 0).
      max_depth: depth limit.
      min_samples_split: smallest node that may split.
    """

    def __init__(self, lam: float = 0.0, max_depth: int = 10, min_samples_split: int = 2):
        _validate.positive("lam", lam, allow_zero=True)
        _validate.positive("max_depth", max_depth)
        self.lam = float(lam)
        self.max_depth = int(max_depth)
        self.min_samples_split = int(min_samples_split)

    def get_params(self, deep: bool = True) -> dict:
        return {"lam": self.lam, "max_depth": self.max_depth,
                "min_samples_split": self.min_samples_split}

    def set_params(self, **params) -> "MIDTree":
        _validate.known_keys("params", params, self.get_params())
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, x: Any, y: Any) -> "MIDTree":
        x = _validate.array("x", x, ndim=2, dtype_kind="fiu")
        y = _validate.array("y", y, ndim=1, dtype_kind="iu")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"Expected y with {x.shape[0]} rows; got y.shape={y.shape}.")
        self.x_codes_ = x.astype(np.int64)
        self.classes_ = np.unique(y)
        yi = np.searchsorted(self.classes_, y)
        self.n_features_in_ = x.shape[1]
        self.n = x.shape[0]
        nc = self.classes_.size
        # Leaves as a list of (row index, path); grow best-first in a queue.
        self.nodes_: list[dict] = []
        leaf_of = np.zeros(self.n, np.int64)
        root = self._new(yi, np.arange(self.n), depth=0, nc=nc)
        stack = [root]
        while stack:
            node = stack.pop()
            split = self._best_split(node, yi, leaf_of, nc)
            if split is None:
                continue
            feat, values = split
            node["feature"] = feat
            node["children"] = {}
            for v in values:
                rows = node["rows"][self.x_codes_[node["rows"], feat] == v]
                child = self._new(yi, rows, node["depth"] + 1, nc)
                node["children"][int(v)] = child
                leaf_of[rows] = child["id"]
                stack.append(child)
        for nd in self.nodes_:
            nd.pop("rows", None)
        return self

    def _new(self, yi, rows, depth, nc):
        counts = np.bincount(yi[rows], minlength=nc)
        node = {"id": len(self.nodes_), "rows": rows, "depth": depth, "counts": counts,
                "feature": None, "children": None}
        self.nodes_.append(node)
        return node

    def _output_entropy(self, leaf_pred: np.ndarray, leaf_size: np.ndarray, nc: int) -> float:
        mass = np.bincount(leaf_pred, weights=leaf_size, minlength=nc)
        return _entropy(mass)

    def _best_split(self, node, yi, leaf_of, nc):
        rows = node["rows"]
        if node["depth"] >= self.max_depth or rows.size < self.min_samples_split:
            return None
        if np.unique(yi[rows]).size < 2:
            return None
        # Output distribution of the current tree (each leaf predicts its majority).
        leaves = [nd for nd in self.nodes_ if nd["children"] is None and nd["rows"].size]
        pred = np.array([int(np.argmax(nd["counts"])) for nd in leaves])
        size = np.array([nd["rows"].size for nd in leaves], np.float64)
        h_before = self._output_entropy(pred, size, nc)
        me = [i for i, nd in enumerate(leaves) if nd["id"] == node["id"]][0]
        h_node = _entropy(node["counts"])
        best, best_score = None, 0.0
        used = self._used_features(node)
        for f in range(self.n_features_in_):
            if f in used:
                continue
            codes = self.x_codes_[rows, f]
            values = np.unique(codes)
            if values.size < 2:
                continue
            cond = 0.0
            child_pred, child_size = [], []
            for v in values:
                c = np.bincount(yi[rows[codes == v]], minlength=nc)
                cond += c.sum() / rows.size * _entropy(c)
                child_pred.append(int(np.argmax(c)))
                child_size.append(float(c.sum()))
            gain = h_node - cond
            pred2 = np.concatenate([np.delete(pred, me), child_pred])
            size2 = np.concatenate([np.delete(size, me), child_size])
            penalty = self._output_entropy(pred2, size2, nc) - h_before
            score = gain - self.lam * penalty
            if score > best_score + 1e-12:
                best, best_score = (f, values), score
        return best

    def _used_features(self, node) -> set:
        # ID3 uses each categorical feature at most once on a path.
        used, target = set(), node["id"]

        def walk(nd, path):
            if nd["id"] == target:
                used.update(path)
                return True
            for ch in (nd["children"] or {}).values():
                if walk(ch, path + [nd["feature"]]):
                    return True
            return False

        walk(self.nodes_[0], [])
        return used

    def _leaf(self, row: np.ndarray) -> dict:
        nd = self.nodes_[0]
        while nd["children"] is not None:
            nxt = nd["children"].get(int(row[nd["feature"]]))
            if nxt is None:
                break
            nd = nxt
        return nd

    def predict_proba(self, x: Any) -> np.ndarray:
        x = _validate.array("x", x, ndim=2, dtype_kind="fiu").astype(np.int64)
        out = np.empty((x.shape[0], self.classes_.size))
        for i, row in enumerate(x):
            c = self._leaf(row)["counts"].astype(np.float64)
            out[i] = c / max(c.sum(), 1.0)
        return out

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]

    def get_depth(self) -> int:
        return max(nd["depth"] for nd in self.nodes_)

    @property
    def n_leaves_(self) -> int:
        return sum(nd["children"] is None for nd in self.nodes_)

    def output_information(self, x: Any) -> float:
        """``I(X; Y_hat) = H(Y_hat)`` in bits over the rows ``x``."""
        return _entropy(np.bincount(np.searchsorted(self.classes_, self.predict(x))))


# ----------------------------------------------------------------------------- DP bound


def dp_information_bound(epsilon: Any, delta: Any, n: Any, *, domain_size: float = 2.0) -> Any:
    """Upper bound (bits) on the mutual information ``I(X^n; M)`` between n
    independent training records and the output ``M`` of an (epsilon,
    delta)-DP learner (replace-one neighbours).

    The argument is the one of the MID paper (Wang, Zhang, Jia, AAAI 2021,
    the section on why DP does not stop model inversion): DP bounds what the
    output reveals about ONE record given all the others, a conditional mutual
    information (Cuff and Yu, "Differential Privacy as a Mutual Information
    Constraint", CCS 2016), and the chain rule adds these terms over the
    records, so the guarantee on the information about the training set, which
    is what a model-inversion attacker exploits, grows linearly with n:

    ``I(X^n; M) <= sum_i I(X_i; M | X_-i) <= n * b(epsilon, delta)``, with
    ``b = min(log2 |X|, epsilon log2 e + delta log2 |X| + h(min(delta, 1/2))
    + log2 (1 / (1 - delta)))`` and ``h`` the binary entropy (bits).

    The per-record term ``b`` is derived here (the paper's text was not at hand
    when this was checked, so its exact delta-constants could not be compared):
    fix ``X_-i`` and let ``P_x`` be the output law when ``X_i = x`` and ``Q``
    its average over ``X_i``. (epsilon, delta)-DP gives ``P_x(S) <= e^eps Q(S)
    + delta`` for every event, so ``P_x = R_x + E_x`` with ``R_x <= e^eps Q``
    and ``E_x`` of mass ``delta_x <= delta``. With ``B`` the indicator of the
    ``E`` part, ``I(X_i; M) <= I(X_i; M, B) <= H(B) + (1 - delta) sup_x
    D(R_x / (1 - delta_x) || Q) + delta H(X_i) <= h(delta) + eps log2 e +
    log2 (1 / (1 - delta)) + delta log2 |X|``. For delta = 0 it is
    ``epsilon log2 e`` (the KL divergence is at most the max-divergence
    epsilon), and no term exceeds ``H(X_i) <= log2 |X|``. The chain-rule step
    needs independent records: ``I(X_i; M | X_<i) <= I(X_i; M | X_-i)``.

    Args:
      epsilon: >= 0 (any shape, broadcast with ``delta`` and ``n``).
      delta: in [0, 1).
      n: number of training records.
      domain_size: ``|X|``, the number of values one record can take (e.g.
        ``256 ** d`` for d 8-bit pixels; only ``log2 |X|`` matters).

    Returns:
      The bound in bits (NumPy array or float).

    Example:
      >>> dp_information_bound(1.0, 1e-5, np.array([100, 1000]), domain_size=256)
    """
    eps = np.asarray(epsilon, np.float64)
    dlt = np.asarray(delta, np.float64)
    n = np.asarray(n, np.float64)
    _validate.positive("epsilon", eps, allow_zero=True)
    _validate.in_range("delta", dlt, 0.0, 1.0 - 1e-12)
    _validate.positive("n", n)
    _validate.positive("domain_size", domain_size)
    if domain_size < 2:
        raise ValueError(f"Expected domain_size={domain_size} >= 2.")
    log_domain = math.log2(domain_size)
    d = np.minimum(dlt, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(d > 0, -d * np.log2(np.where(d > 0, d, 1.0)) - (1 - d) * np.log2(1 - d),
                     0.0)
    per_record = eps * math.log2(math.e) + dlt * log_domain + h - np.log2(1.0 - dlt)
    out = n * np.minimum(per_record, log_domain)
    return float(out) if out.ndim == 0 else out
