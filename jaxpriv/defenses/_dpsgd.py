"""DP-SGD (Abadi et al., CCS 2016, Algorithm 1) with accounting by ``dp-accounting``.

Device side (JAX): per-example gradients with ``vmap(grad)``, each clipped to
L2 norm ``clip_norm``, summed, plus Gaussian noise of standard deviation
``noise_multiplier * clip_norm``, divided by the (expected) batch size. For
jaxpriv's softmax regression and MLP the first kernel's per-example gradients
are never formed: their norms are ``|x_i| |delta_i|`` and their clipped sum is
one matmul (:func:`dp_grad_fn_for`; 14.1x faster on an AT&T-faces MLP,
``benchmarks/bench_dpsgd.py``). K runs with different noise multipliers, clip
norms or learning rates train as one vmapped program.

Host side (``dp_accounting``): the run is the DP event
``SelfComposed(PoissonSampled(q, Gaussian(sigma)), steps)`` (Poisson
sampling, add-or-remove-one neighbours) or
``SelfComposed(SampledWithoutReplacement(n, B, Gaussian(sigma)), steps)``
(fixed-size batches, replace-one neighbours). Epsilon at a delta and the
noise multiplier for a target epsilon come from the library's RDP or PLD
accountant and ``calibrate_dp_mechanism``; nothing here is a hand-written
accountant.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.defenses import _trainer
from jaxpriv.models import Model
from jaxpriv.training import l2_penalty, per_example_loss
from jaxpriv.training import _wide

ACCOUNTANTS = ("rdp", "pld")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DPSGDConfig:
    """Static DP-SGD settings (one compiled program per config).

    Attributes:
      steps: number of noisy steps.
      batch_size: rows per step (``"fixed"``) or expected rows per step
        (``"poisson"``, sampling rate ``q = batch_size / n``).
      sampling: ``"poisson"`` (the setting of Abadi et al. and of the RDP
        analysis) or ``"fixed"``.
      optimizer: ``"sgd"``, ``"momentum"`` or ``"adam"`` (post-processing of
        the noisy gradient; no privacy cost).
      accountant: ``"rdp"`` or ``"pld"`` (``"pld"`` supports Poisson only).
      max_batch_size: Poisson only; see :class:`StepConfig`.
      steps_per_call, init, progress: see :class:`StepConfig`.
    """

    steps: int = 500
    batch_size: int = 64
    sampling: str = "poisson"
    optimizer: str = "sgd"
    accountant: str = "rdp"
    max_batch_size: int | None = None
    steps_per_call: int = 100
    init: str = "lecun"
    progress: bool = False

    def __post_init__(self):
        self.step_config()  # validates the shared fields
        _validate.one_of("accountant", self.accountant, ACCOUNTANTS)
        if self.accountant == "pld" and self.sampling != "poisson":
            raise ValueError("Expected sampling='poisson' with accountant='pld' (dp-accounting's "
                             f"PLD accountant has no fixed-size sampling); got {self.sampling!r}.")

    def step_config(self) -> _trainer.StepConfig:
        return _trainer.StepConfig(
            steps=self.steps, batch_size=self.batch_size, sampling=self.sampling,
            max_batch_size=self.max_batch_size, optimizer=self.optimizer,
            steps_per_call=self.steps_per_call, init=self.init, progress=self.progress)


class DPHyper(NamedTuple):
    """Numeric DP-SGD settings; scalars, or ``[K]`` arrays in :func:`dp_sgd_many`.

    Attributes:
      noise_multiplier: sigma; noise std is ``sigma * clip_norm``.
      clip_norm: per-example gradient L2 bound C.
      learning_rate: step size.
      l2: weight of ``l2/2 |w|^2`` over kernels, added to the noisy gradient
        (data independent, so free of privacy cost).
    """

    noise_multiplier: Any = 1.0
    clip_norm: Any = 1.0
    learning_rate: Any = 0.1
    l2: Any = 0.0


def clip_and_sum(per_example_grads: Any, weights: jax.Array, clip_norm: jax.Array):
    """Clips each example's gradient to L2 norm ``clip_norm`` and sums.

    Args:
      per_example_grads: a tree whose leaves are ``[B, ...]``.
      weights: ``[B]`` 0/1 weights (rows not in the batch are 0).
      clip_norm: scalar C.

    Returns:
      ``(summed tree without the [B] axis, norms [B] before clipping)``.
    """
    leaves = jax.tree_util.tree_leaves(per_example_grads)
    sq = sum(jnp.sum(jnp.square(g.reshape(g.shape[0], -1)), axis=1) for g in leaves)
    norms = jnp.sqrt(sq)
    factor = _clip_factors(norms, weights, clip_norm)
    summed = jax.tree_util.tree_map(lambda g: jnp.tensordot(factor, g, axes=1),
                                    per_example_grads)
    return summed, norms


def _clip_factors(norms: jax.Array, weights: jax.Array, clip_norm: jax.Array) -> jax.Array:
    """Each example's factor ``w_i min(1, C / |g_i|)`` in the clipped sum."""
    return weights * jnp.minimum(1.0, clip_norm / jnp.maximum(norms, 1e-12))


def _noisy_gradient(summed, params, key, h, denom):
    """Gaussian noise ``noise_multiplier * clip_norm`` on every coordinate of the
    clipped sum (one draw, cut into the leaves in tree order), divided by
    ``denom``, plus the L2 term on kernels."""
    leaves, treedef = jax.tree_util.tree_flatten(summed)
    std = h["noise_multiplier"] * h["clip_norm"]
    z = jax.random.normal(key, (sum(g.size for g in leaves),), jnp.float32)
    noisy, start = [], 0
    for g in leaves:
        noisy.append((g + std * z[start:start + g.size].reshape(g.shape)) / denom)
        start += g.size
    noisy = jax.tree_util.tree_unflatten(treedef, noisy)
    reg = jax.grad(l2_penalty)(params)
    return jax.tree_util.tree_map(lambda a, r: a + h["l2"] * r * (r.ndim >= 2), noisy, reg)


@functools.lru_cache(maxsize=64)
def dp_grad_fn(apply_fn, loss: str = "cross_entropy"):
    """The DP-SGD gradient of one model for :func:`_trainer.make_trainer`
    (cached per ``apply_fn``, so repeated runs reuse one compiled program)."""

    def one_loss(params, xi, yi):
        out = apply_fn(params, xi[None])
        return per_example_loss(loss, out, yi[None])[0]

    def grad_fn(params, key, xb, yb, wb, h, denom):
        losses, grads = jax.vmap(jax.value_and_grad(one_loss), in_axes=(None, 0, 0))(
            params, xb, yb)
        summed, _ = clip_and_sum(grads, wb, h["clip_norm"])
        g = _noisy_gradient(summed, params, key, h, denom)
        data_loss = jnp.sum(wb * losses) / jnp.maximum(jnp.sum(wb), 1.0)
        return g, data_loss

    return grad_fn


@functools.lru_cache(maxsize=64)
def _dense_dp_grad_fn(stack: "_wide.DenseStack", loss: str):
    """:func:`dp_grad_fn` for jaxpriv's softmax regression and MLP, without
    per-example gradients of the first kernel.

    Example i's gradient of the first kernel is the outer product ``x_i
    delta_i^T`` (``delta_i`` = d loss_i / d (x_i @ W1)), so its squared norm is
    ``|x_i|^2 |delta_i|^2`` and the clipped sum is one matmul ``X_b^T (c *
    delta)`` (the per-example norm trick of Goodfellow, 2015). Only the later,
    small layers get per-example gradients. Same clipping, noise and result
    as :func:`dp_grad_fn` up to float32 rounding; on the AT&T faces (10,304
    inputs) the per-example gradients of the first kernel were hundreds of MB
    per step.
    """
    first = stack.layers[0]

    def one_loss(rest, pre_i, yi):
        return per_example_loss(loss, stack.logits_from_pre(rest, pre_i[None]), yi[None])[0]

    def grad_fn(params, key, xb, yb, wb, h, denom):
        rest = stack.without_first_kernel(params)
        pre = xb @ params[first]["kernel"]                               # [B, h]
        losses, (g_rest, g_pre) = jax.vmap(jax.value_and_grad(one_loss, argnums=(0, 1)),
                                           in_axes=(None, 0, 0))(rest, pre, yb)
        sq = sum(jnp.sum(jnp.square(g.reshape(g.shape[0], -1)), axis=1)
                 for g in jax.tree_util.tree_leaves(g_rest))
        sq = sq + jnp.sum(jnp.square(xb), axis=1) * jnp.sum(jnp.square(g_pre), axis=1)
        factor = _clip_factors(jnp.sqrt(sq), wb, h["clip_norm"])
        summed = jax.tree_util.tree_map(lambda g: jnp.tensordot(factor, g, axes=1), g_rest)
        summed[first] = dict(summed[first], kernel=xb.T @ (factor[:, None] * g_pre))
        g = _noisy_gradient(summed, params, key, h, denom)
        data_loss = jnp.sum(wb * losses) / jnp.maximum(jnp.sum(wb), 1.0)
        return g, data_loss

    return grad_fn


def dp_grad_fn_for(model: Model, loss: str = "cross_entropy"):
    """The DP-SGD gradient of ``model``: :func:`_dense_dp_grad_fn` for
    jaxpriv's softmax regression and MLP, else :func:`dp_grad_fn`."""
    stack = _wide.dense_stack(model)
    if stack is None:
        return dp_grad_fn(model.apply, loss)
    return _dense_dp_grad_fn(stack, loss)


def _check_xy(model: Model, x, y):
    x = _validate.array("x", x, ndim=2, dtype_kind="fiub")
    y = _validate.labels("y", y, model.num_classes, n=x.shape[0])
    return x, y


def dp_sgd_many(
    keys: jax.Array,
    model: Model,
    x: Any,
    y: Any,
    config: DPSGDConfig = DPSGDConfig(),
    hyper: DPHyper = DPHyper(),
    *,
    data_key: jax.Array | None = None,
) -> tuple[Any, jax.Array]:
    """Trains K models with DP-SGD as one vmapped program.

    Each model has its own init and noise key (``keys``) and its own
    ``DPHyper`` values; minibatch draws are shared (``data_key``; default
    derived from ``keys[0]``), which is the fast path and does not change any
    single model's guarantee.

    Args:
      keys: ``[K]`` PRNG keys.
      model: a :class:`jaxpriv.models.Model`.
      x: float ``[n, d]``; y: int ``[n]`` in ``[0, num_classes)``.
      config: :class:`DPSGDConfig`.
      hyper: :class:`DPHyper` of scalars or ``[K]`` arrays.

    Returns:
      ``(params with a leading [K] axis, loss [K, steps])``.

    Example:
      >>> keys = jax.random.split(jax.random.key(0), 4)
      >>> params, loss = dp_sgd_many(keys, model, x, y, DPSGDConfig(steps=200),
      ...                            DPHyper(noise_multiplier=jnp.array([0.5, 1., 2., 4.])))
    """
    keys = jnp.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"Expected keys with shape [K] (typed keys); got shape {keys.shape}.")
    x, y = _check_xy(model, x, y)
    k = keys.shape[0]
    h = _trainer.as_hyper(k, **hyper._asdict())
    _validate.positive("hyper.clip_norm", np.asarray(h["clip_norm"]))
    _validate.positive("hyper.noise_multiplier", np.asarray(h["noise_multiplier"]),
                       allow_zero=True)
    if data_key is None:
        data_key = jax.random.fold_in(keys[0], 12345)
    return _trainer.train_many(keys, data_key, model.init, dp_grad_fn_for(model), x, y,
                               config.step_config(), h, desc=f"DP-SGD x{k}")


def dp_sgd(key: jax.Array, model: Model, x: Any, y: Any,
           config: DPSGDConfig = DPSGDConfig(), hyper: DPHyper = DPHyper()):
    """Trains one model with DP-SGD; returns ``(params, loss [steps])``."""
    params, loss = dp_sgd_many(key[None], model, x, y, config, hyper)
    return jax.tree_util.tree_map(lambda p: p[0], params), loss[0]


# ----------------------------------------------------------------------------- accounting


def dp_event(*, noise_multiplier: float, steps: int, num_examples: int, batch_size: int,
             sampling: str = "poisson") -> "dp_accounting.DpEvent":
    """The ``dp_accounting`` event of a DP-SGD run."""
    import dp_accounting

    _validate.positive("noise_multiplier", noise_multiplier)
    _validate.positive("steps", steps)
    _validate.positive("num_examples", num_examples)
    _validate.positive("batch_size", batch_size)
    _validate.one_of("sampling", sampling, _trainer.SAMPLINGS)
    if batch_size > num_examples:
        raise ValueError(f"Expected batch_size={batch_size} <= num_examples={num_examples}.")
    gauss = dp_accounting.GaussianDpEvent(float(noise_multiplier))
    if sampling == "poisson":
        step = dp_accounting.PoissonSampledDpEvent(batch_size / num_examples, gauss)
    else:
        step = dp_accounting.SampledWithoutReplacementDpEvent(num_examples, batch_size, gauss)
    return dp_accounting.SelfComposedDpEvent(step, int(steps))


def _accountant(name: str, sampling: str):
    import dp_accounting

    _validate.one_of("accountant", name, ACCOUNTANTS)
    rel = (dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE if sampling == "poisson"
           else dp_accounting.NeighboringRelation.REPLACE_ONE)
    if name == "rdp":
        return dp_accounting.rdp.RdpAccountant(neighboring_relation=rel)
    if sampling != "poisson":
        raise ValueError("Expected sampling='poisson' with accountant='pld'; "
                         f"got sampling={sampling!r}.")
    return dp_accounting.pld.PLDAccountant(neighboring_relation=rel)


def dp_epsilon(*, noise_multiplier: float, steps: int, num_examples: int, batch_size: int,
               delta: float, sampling: str = "poisson", accountant: str = "rdp") -> float:
    """Epsilon at ``delta`` of a DP-SGD run, from ``dp_accounting``.

    Args:
      noise_multiplier: sigma.
      steps: number of steps.
      num_examples: n, the training-set size.
      batch_size: fixed batch size or expected Poisson batch size.
      delta: target delta in (0, 1).
      sampling: ``"poisson"`` or ``"fixed"``.
      accountant: ``"rdp"`` or ``"pld"``.

    Example:
      >>> dp_epsilon(noise_multiplier=1.1, steps=1000, num_examples=60000,
      ...            batch_size=256, delta=1e-5)
    """
    _validate.in_range("delta", delta, 1e-300, 1.0 - 1e-12)
    acc = _accountant(accountant, sampling)
    acc.compose(dp_event(noise_multiplier=noise_multiplier, steps=steps,
                         num_examples=num_examples, batch_size=batch_size, sampling=sampling))
    return float(acc.get_epsilon(delta))


def calibrate_noise_multiplier(*, target_epsilon: float, steps: int, num_examples: int,
                               batch_size: int, delta: float, sampling: str = "poisson",
                               accountant: str = "rdp", tol: float = 1e-4) -> float:
    """The smallest noise multiplier whose run has epsilon <= ``target_epsilon``.

    Uses ``dp_accounting.calibrate_dp_mechanism`` (Brent's method over
    sigma with a fresh accountant per trial).
    """
    _validate.positive("target_epsilon", target_epsilon)
    _validate.in_range("delta", delta, 1e-300, 1.0 - 1e-12)

    import dp_accounting

    def make_event(sigma):
        return dp_event(noise_multiplier=max(float(sigma), 1e-6), steps=steps,
                        num_examples=num_examples, batch_size=batch_size, sampling=sampling)

    return float(dp_accounting.calibrate_dp_mechanism(
        lambda: _accountant(accountant, sampling), make_event, float(target_epsilon),
        float(delta), dp_accounting.mechanism_calibration.LowerEndpointAndGuess(1e-3, 1.0),
        tol=tol))


def run_epsilon(config: DPSGDConfig, noise_multiplier: float, num_examples: int,
                delta: float) -> float:
    """Epsilon of a :func:`dp_sgd` run with ``config`` on ``num_examples`` rows."""
    return dp_epsilon(noise_multiplier=noise_multiplier, steps=config.steps,
                      num_examples=num_examples, batch_size=config.batch_size, delta=delta,
                      sampling=config.sampling, accountant=config.accountant)
