"""Fast path of ``fit_many`` for K dense stacks (cross-entropy).

For ``"softmax"`` and ``"mlp"`` models the K models are held in a
"transposed" layout for the whole run: every kernel as ``[K, out, in]`` and
activations as ``[K, units, B]`` (features by batch). Then, with one shared
minibatch order,

* the first layer of all K models is ONE matmul ``[K * h, d] . x [B, d]^T``
  (and its weight gradient ``dA [K * h, B] @ x``), reading the minibatch
  rows as gathered,
* every later layer is a batched matmul whose batch axis K is already the
  leading (major) axis of both operands,

so no transposes or copies are paid per step, and the optimizer update is a
single elementwise pass over K-major arrays. With per-model minibatches
(``masks``) the first layer is a batched product reading the gathered
``[K, B, d]`` rows (see :meth:`DenseStack.forward`) and the rest is as
above. The math is the flax :class:`jaxpriv.models.MLP` /
``SoftmaxRegression`` forward pass
(``x @ kernel + bias``, activation between layers) and the same loss and
optimizer as the generic path; only the memory layout differs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxpriv.models import ACTIVATIONS, MLP, Model, SoftmaxRegression


_B1, _B2, _EPS = 0.9, 0.999, 1e-8  # optax.adam's defaults


@jax.custom_vjp
def _first_hidden_major(x, w):
    """``x [K, B, d]`` times ``w [K, o, d]`` as ``[K, o, B]`` (see :meth:`DenseStack.forward`)."""
    return jnp.einsum("kbd,kod->kob", x, w)


def _first_fwd(x, w):
    return _first_hidden_major(x, w), x


def _first_bwd(x, ct):
    # The weight gradient with the cotangent batch-major ([K, B, o], one small
    # copy): contracting the major axis of both operands is the fast form.
    ct_b = jax.lax.optimization_barrier(jnp.swapaxes(ct, 1, 2))
    return None, jnp.einsum("kbo,kbd->kod", ct_b, x)


_first_hidden_major.defvjp(_first_fwd, _first_bwd)


@jax.custom_vjp
def _cross_entropy(logits, labels):
    """Per-example cross-entropy ``[K, B]`` of ``logits [K, c, B]`` and
    ``labels [K|1, B]``, with the gradient written out: ``softmax - onehot``
    in one elementwise pass (autodiff of ``take_along_axis`` scatters, and
    of ``logsumexp`` adds passes; ~3% of a purchase-sized step on XLA:CPU)."""
    return _ce_fwd(logits, labels)[0]


def _ce_fwd(logits, labels):
    top = jax.lax.stop_gradient(jnp.max(logits, axis=1, keepdims=True))
    shifted = logits - top
    lse = jnp.log(jnp.sum(jnp.exp(shifted), axis=1))                     # [K, B]
    # A gather (not differentiated: the gradient is written out below).
    picked = jnp.take_along_axis(shifted, labels[:, None, :], axis=1)[:, 0]  # [K, B]
    return lse - picked, (shifted, lse, labels)


def _ce_bwd(res, ct):
    shifted, lse, labels = res
    onehot = jnp.arange(shifted.shape[1])[None, :, None] == labels[:, None, :]
    soft = jnp.exp(shifted - lse[:, None, :])
    return ct[:, None, :] * (soft - onehot.astype(soft.dtype)), None


_cross_entropy.defvjp(_ce_fwd, _ce_bwd)


class DenseStack(NamedTuple):
    """A dense stack's layer names (in order) and its activation; hashable."""

    layers: tuple[str, ...]
    activation: str

    # Parameters ---------------------------------------------------------
    def to_wide(self, params) -> tuple:
        """Stacked flax params ``{layer: {kernel [K, i, o], bias [K, o]}}`` ->
        ``((kernel^T [K, o, i], bias [K, o]), ...)``."""
        return tuple((jnp.swapaxes(params[n]["kernel"], 1, 2), params[n]["bias"])
                     for n in self.layers)

    def from_wide(self, wide) -> dict:
        return {n: {"kernel": jnp.swapaxes(w, 1, 2), "bias": b}
                for n, (w, b) in zip(self.layers, wide)}

    def init_opt(self, optimizer: str, wide):
        """Optimizer state in the wide layout, with a per-model step count."""
        k = wide[0][0].shape[0]
        zeros = lambda: jax.tree_util.tree_map(jnp.zeros_like, wide)
        if optimizer == "adam":
            return (jnp.zeros((k,), jnp.int32), zeros(), zeros())
        if optimizer == "momentum":
            return (zeros(),)
        return ()

    def without_first_kernel(self, params) -> dict:
        """``params`` (flax layout) without the first layer's kernel, for
        functions of its product (:meth:`logits_from_pre`) that must not read
        or differentiate it."""
        first = self.layers[0]
        out = dict(params)
        out[first] = {n: v for n, v in params[first].items() if n != "kernel"}
        return out

    def logits_from_pre(self, params, pre: jax.Array) -> jax.Array:
        """The flax model's logits ``[B, c]`` given its first layer's product
        ``pre = x @ kernel [B, h]`` (before the bias); ``params`` in the flax
        layout (``{layer: {kernel [i, o], bias [o]}}``, one model); the first
        kernel is not read."""
        act = ACTIVATIONS[self.activation]
        a = pre + params[self.layers[0]]["bias"][None, :]
        for name in self.layers[1:]:
            a = act(a) @ params[name]["kernel"] + params[name]["bias"][None, :]
        return a

    # Training step ----------------------------------------------------------
    def forward(self, wide, xb: jax.Array) -> jax.Array:
        """Logits of all K models, ``[K, c, B]`` (activations are held
        features-major, ``[K, units, B]``).

        ``xb`` is either the shared minibatch ``[B, d]`` (the first layer of
        all K models is then one ``[K * h, d] . [B, d]^T`` matmul), or K
        per-model minibatches ``[K, B, d]`` as gathered (the
        first layer's product then reads them batch-major and writes
        features-major, and its weight gradient contracts a batch-major copy
        of the small cotangent: on XLA:CPU those are the fast forms of the
        two products, ~1.3x and ~1.6x the speed of the others measured).
        """
        act = ACTIVATIONS[self.activation]
        (w, b), rest = wide[0], wide[1:]
        k, o, d = w.shape
        if xb.ndim == 2:
            a = jnp.einsum("md,bd->mb", w.reshape(k * o, d), xb).reshape(k, o, xb.shape[0])
            a = a + b[:, :, None]
        else:
            a = _first_hidden_major(xb, w) + b[:, :, None]
        for w, b in rest:
            a = jnp.einsum("koi,kib->kob", w, act(a)) + b[:, :, None]
        return a

    def step(self, config, wide, opt_state, xb, yb, wb, hyper, skip_empty=False):
        """One optimizer step of all K models.

        Args:
          xb: the shared minibatch, ``[B, d]``, or per-model
            minibatches ``[K, B, d]``. yb: ``[B]`` or ``[K, B]`` labels;
            wb: ``[B]`` or ``[K, B]`` row weights (0 for padding).
            hyper: ``Hyper`` of ``[K]`` arrays.
          skip_empty: a model whose minibatch has no weight (padding) keeps
            its parameters and optimizer state.

        Returns:
          ``(wide, opt_state, data_loss [K])``.
        """
        wb2 = wb if wb.ndim == 2 else wb[None, :]                        # [K|1, B]
        yb2 = yb if yb.ndim == 2 else yb[None, :]
        wsum_raw = jnp.sum(wb2, axis=1)                                  # [K|1]
        wsum = jnp.maximum(wsum_raw, 1.0)

        def loss(wide):
            out = self.forward(wide, xb)                                 # [K, c, B]
            # Cross-entropy only (fit_many sends other losses down the generic path).
            per = _cross_entropy(out, yb2)                               # [K, B]
            data = jnp.sum(per * wb2, axis=1) / wsum                     # [K]
            return jnp.sum(data), data

        grads, data = jax.grad(loss, has_aux=True)(wide)
        lr = hyper.learning_rate
        per_model = lambda v, a: v.reshape((-1,) + (1,) * (a.ndim - 1))
        # The L2 penalty's gradient, l2 * w for kernels (and biases with
        # l2_on_bias), added here so it fuses into the optimizer's pass
        # (the penalty's value is never needed).
        grads = tuple(
            tuple(g + per_model(hyper.l2, p) * p if i == 0 or config.l2_on_bias else g
                  for i, (g, p) in enumerate(zip(gl, pl)))
            for gl, pl in zip(grads, wide))
        if config.optimizer == "adam":
            # optax.scale_by_adam (b1 0.9, b2 0.999, eps 1e-8) with one step
            # count per model (a model skipping a padding batch keeps its own).
            count, mu, nu = opt_state
            count = count + 1
            c1 = 1 - _B1 ** count.astype(jnp.float32)                     # [K]
            c2 = 1 - _B2 ** count.astype(jnp.float32)
            mu = jax.tree_util.tree_map(lambda m, g: _B1 * m + (1 - _B1) * g, mu, grads)
            nu = jax.tree_util.tree_map(lambda v, g: _B2 * v + (1 - _B2) * g * g, nu, grads)
            new = jax.tree_util.tree_map(
                lambda p, m, v: p - per_model(lr, p) * (
                    (m / per_model(c1, m)) / (jnp.sqrt(v / per_model(c2, v)) + _EPS)),
                wide, mu, nu)
            new_opt = (count, mu, nu)
        elif config.optimizer == "momentum":
            (trace,) = opt_state
            trace = jax.tree_util.tree_map(lambda t, g: g + 0.9 * t, trace, grads)
            new = jax.tree_util.tree_map(lambda p, t: p - per_model(lr, p) * t, wide, trace)
            new_opt = (trace,)
        else:
            new = jax.tree_util.tree_map(lambda p, g: p - per_model(lr, p) * g, wide, grads)
            new_opt = ()
        if skip_empty:
            live = wsum_raw > 0                                          # [K]
            keep = lambda a, b: jnp.where(per_model(live, a), a, b)
            new = jax.tree_util.tree_map(keep, new, wide)
            new_opt = jax.tree_util.tree_map(keep, new_opt, opt_state)
        return new, new_opt, data


def dense_stack(model: Any) -> DenseStack | None:
    """The fast-path description of ``model``, or None when it does not apply
    (any architecture other than jaxpriv's own softmax regression and MLP)."""
    if not isinstance(model, Model):
        return None
    apply = model.apply
    if (getattr(apply, "__module__", None) != "jaxpriv.models._flax"
            or not getattr(apply, "__qualname__", "").startswith("_wrap.")):
        return None  # a custom apply: only the generic path is safe
    module = model.module
    if type(module) is SoftmaxRegression:
        return DenseStack(("linear",), "identity")
    if type(module) is MLP:
        names = tuple(f"hidden_{i}" for i in range(len(module.hidden))) + ("out",)
        return DenseStack(names, module.activation)
    return None


class Grouped(NamedTuple):
    """K models of one dense stack held as independent groups of models.

    XLA's CPU runtime runs each elementwise fusion (activations, the loss, the
    optimizer update) on one thread but runs independent operations at the
    same time; the matmuls use every core on their own. Splitting the K
    models into one group per core makes every step's elementwise work
    independent per group, so it spreads over the cores too. Each group is a
    :class:`DenseStack` step of its own; the math is unchanged.
    """

    stack: DenseStack
    sizes: tuple[int, ...]  # models per group

    def _slices(self):
        start = 0
        for size in self.sizes:
            yield slice(start, start + size)
            start += size

    def to_wide(self, params) -> tuple:
        return tuple(self.stack.to_wide(jax.tree_util.tree_map(lambda p: p[sl], params))
                     for sl in self._slices())

    def from_wide(self, wide) -> dict:
        parts = [self.stack.from_wide(g) for g in wide]
        return jax.tree_util.tree_map(lambda *p: jnp.concatenate(p, axis=0), *parts)

    def init_opt(self, optimizer: str, wide):
        return tuple(self.stack.init_opt(optimizer, g) for g in wide)

    def step(self, config, wide, opt_state, xb, yb, wb, hyper, skip_empty=False):
        """:meth:`DenseStack.step` of every group; arguments as there (per-model
        arrays carry all K models and are split here)."""
        per_model = xb.ndim == 3
        outs = []
        for sl, w, o in zip(self._slices(), wide, opt_state):
            outs.append(self.stack.step(
                config, w, o, xb[sl] if per_model else xb, yb[sl] if per_model else yb,
                wb[sl] if per_model else wb, type(hyper)(*(h[sl] for h in hyper)),
                skip_empty=skip_empty))
        return (tuple(p for p, _, _ in outs), tuple(o for _, o, _ in outs),
                jnp.concatenate([d for _, _, d in outs]))


def grouped(stack: DenseStack, num_models: int, groups: int) -> Grouped:
    """``stack`` over ``num_models`` models in ``min(groups, num_models)``
    groups of near-equal size."""
    g = max(1, min(groups, num_models))
    return Grouped(stack, tuple(num_models // g + (i < num_models % g) for i in range(g)))
