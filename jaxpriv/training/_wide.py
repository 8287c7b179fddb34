"""Fast path of ``fit_many`` for K dense stacks sharing one minibatch order.

For ``"softmax"`` and ``"mlp"`` models trained without masks, the K models are
held in a "transposed" layout for the whole run: every kernel as
``[K, out, in]`` and activations as ``[K, units, B]`` (features by batch). Then

* the first layer of all K models is ONE matmul
  ``[K * h, d] @ x^T [d, B]`` (and its weight gradient ``dA [K * h, B] @ x``),
* every later layer is a batched matmul whose batch axis K is already the
  leading (major) axis of both operands,

so no transposes or copies are paid per step, and the optimizer update is a
single elementwise pass over K-major arrays. The math is the flax
:class:`jaxpriv.models.MLP` / ``SoftmaxRegression`` forward pass
(``x @ kernel + bias``, activation between layers) and the same loss and
optimizer as the generic path; only the memory layout differs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxpriv.models import ACTIVATIONS, MLP, Model, SoftmaxRegression


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

    def init_opt(self, tx, wide):
        return tx.init(wide)

    # Training step ----------------------------------------------------------
    def forward(self, wide, xt: jax.Array) -> jax.Array:
        """Logits ``[K, c, B]`` of all K models for ``xt = x^T [d, B]``."""
        act = ACTIVATIONS[self.activation]
        (w, b), rest = wide[0], wide[1:]
        k, o, d = w.shape
        a = (w.reshape(k * o, d) @ xt).reshape(k, o, xt.shape[1]) + b[:, :, None]
        for w, b in rest:
            a = jnp.einsum("koi,kib->kob", w, act(a)) + b[:, :, None]
        return a

    def step(self, tx, config, wide, opt_state, xt, yb, wb, hyper):
        """One optimizer step of all K models on the shared minibatch.

        Args:
          xt: ``[d, B]`` the minibatch, transposed; yb: ``[B]``; wb: ``[B]``
            row weights (0 for padding). hyper: ``Hyper`` of ``[K]`` arrays.

        Returns:
          ``(wide, opt_state, data_loss [K])``.
        """
        wsum = jnp.maximum(jnp.sum(wb), 1.0)

        def loss(wide):
            out = self.forward(wide, xt)                                 # [K, c, B]
            if config.loss == "cross_entropy":
                lse = jax.nn.logsumexp(out, axis=1)                      # [K, B]
                onehot = jax.nn.one_hot(yb, out.shape[1], axis=0, dtype=out.dtype)
                per = lse - jnp.sum(out * onehot[None], axis=1)          # [K, B]
            else:
                per = jnp.square(out[:, 0, :] - yb[None, :])
            data = jnp.sum(per * wb[None, :], axis=1) / wsum             # [K]
            pen = sum(0.5 * jnp.sum(jnp.square(p), axis=tuple(range(1, p.ndim)))
                      for layer in wide for i, p in enumerate(layer)
                      if i == 0 or config.l2_on_bias)                    # [K]
            return jnp.sum(data + hyper.l2 * pen), data

        grads, data = jax.grad(loss, has_aux=True)(wide)
        direction, opt_state = tx.update(grads, opt_state, wide)
        lr = hyper.learning_rate
        wide = jax.tree_util.tree_map(
            lambda p, d: p - lr.reshape((-1,) + (1,) * (p.ndim - 1)) * d, wide, direction)
        return wide, opt_state, data


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
