"""Minimum-norm targeted attack: Carlini-Wagner L2 with a binary search on c.

Carlini, Wagner, "Towards Evaluating the Robustness of Neural Networks",
IEEE S&P 2017, §V.A (the L2 attack): change of variables
``x' = lo + (hi - lo) (tanh(w) + 1) / 2`` keeps ``x'`` in the box; minimise
``||x' - x||_2^2 + c f(x')`` with ``f(x') = max(max_{i != t} Z_i - Z_t, -kappa)``
by Adam, and binary-search the constant ``c`` per item (a success halves the
upper bound, a failure raises the lower one or multiplies ``c`` by 10).

Written for one (input, target) item; ``vmap`` runs every input against every
target label in one compiled call, each item with its own ``c`` and stop state.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxpriv import _validate
from jaxpriv.attacks import _width
from jaxpriv.attacks.evasion import _common as c
from jaxpriv.attacks.evasion import _gradient


@dataclasses.dataclass(frozen=True, kw_only=True)
class CWConfig:
    """Carlini-Wagner L2 settings.

    Attributes:
      steps: Adam steps per value of ``c`` (static).
      search_steps: binary-search rounds over ``c`` (static).
      learning_rate: Adam step size in ``w`` space.
      initial_const: the first ``c`` of every item.
      confidence: the margin ``kappa`` of ``f``.
      clip: the valid input box ``(lo, hi)``.
    """

    steps: int = 100
    search_steps: int = 6
    learning_rate: float = 0.05
    initial_const: float = 1.0
    confidence: float = 0.0
    clip: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        _validate.positive("steps", self.steps)
        _validate.positive("search_steps", self.search_steps)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.positive("initial_const", self.initial_const)
        _validate.positive("confidence", self.confidence, allow_zero=True)
        object.__setattr__(self, "clip", _gradient._check_clip(self.clip))


def _cw_one(apply_fn, params, x, t, lr, c0, kappa, *, steps, search_steps, clip):
    """One item: ``x [d]``, target ``t`` -> best adversarial ``[d]`` and its L2^2."""
    lo, hi = clip
    to_x = lambda w: lo + (hi - lo) * (jnp.tanh(w) + 1.0) / 2.0
    # 0.999 (not 1 - 1e-6) keeps saturated pixels within reach of a few Adam steps.
    w0 = jnp.arctanh(jnp.clip((x - lo) / (hi - lo) * 2.0 - 1.0, -1.0, 1.0) * 0.999)
    opt = optax.adam(lr)

    def f(logits):
        other = jnp.max(jnp.where(jnp.arange(logits.shape[-1]) == t, -jnp.inf, logits))
        return jnp.maximum(other - logits[t], -kappa)

    def loss(w, const):
        xa = to_x(w)
        logits = apply_fn(params, xa[None])[0]
        dist = jnp.sum(jnp.square(xa - x))
        return dist + const * f(logits), (dist, logits)

    def search(carry, _):
        const, lower, upper, best_x, best_d = carry

        def adam(state, _):
            w, opt_state, bx, bd, hit = state
            (_, (dist, logits)), g = jax.value_and_grad(loss, has_aux=True)(w, const)
            # Score the point the gradient was taken at, before moving.
            ok = jnp.argmax(logits) == t
            better = ok & (dist < bd)
            bx = jnp.where(better, to_x(w), bx)
            bd = jnp.where(better, dist, bd)
            upd, opt_state = opt.update(g, opt_state, w)
            return (w + upd, opt_state, bx, bd, hit | ok), None

        init = (w0, opt.init(w0), best_x, best_d, jnp.bool_(False))
        (_, _, best_x, best_d, hit), _ = jax.lax.scan(adam, init, None, length=steps)
        upper = jnp.where(hit, jnp.minimum(upper, const), upper)
        lower = jnp.where(hit, lower, jnp.maximum(lower, const))
        const = jnp.where(upper < 1e9, (lower + upper) / 2.0, const * 10.0)
        return (const, lower, upper, best_x, best_d), None

    init = (c0, jnp.float32(0.0), jnp.float32(1e10), x, jnp.float32(jnp.inf))
    (_, _, _, best_x, best_d), _ = jax.lax.scan(search, init, None, length=search_steps)
    return best_x, best_d


@functools.partial(jax.jit, static_argnames=("apply_fn", "steps", "search_steps", "clip"))
def _cw_batch(apply_fn, params, x, goal, lr, c0, kappa, *, steps, search_steps, clip):
    one = functools.partial(_cw_one, apply_fn, params, steps=steps,
                            search_steps=search_steps, clip=clip)
    over_t = jax.vmap(one, in_axes=(None, 0, None, None, None))
    x_adv, _ = jax.vmap(over_t, in_axes=(0, 0, None, None, None))(x, goal, lr, c0, kappa)
    logits = apply_fn(params, x_adv.reshape(-1, x.shape[-1]))
    pred = jnp.argmax(logits, axis=-1).reshape(x_adv.shape[:-1]).astype(jnp.int32)
    return x_adv[None], pred[None]


def carlini_wagner_l2(key: jax.Array, target: Any, data: Any, config: CWConfig = CWConfig()
                      ) -> c.EvasionResult:
    """The Carlini-Wagner L2 attack, every input against every target label at once.

    Carlini and Wagner, IEEE S&P 2017, §V.A. Each item keeps the smallest-L2
    adversarial example found over all Adam steps and binary-search rounds;
    items with no success return the clean input (``success`` False, norm 0).

    Args:
      key: PRNG key (the attack is deterministic; kept for the common shape).
      target: white-box ``(apply_fn, params)``.
      data: :class:`EvasionData` with ``targets [n, T]`` (targeted; see
        :func:`all_targets`), or without (untargeted: each input is attacked
        towards every other label and the smallest success is kept).
      config: :class:`CWConfig`.

    Returns:
      :class:`EvasionResult` with item axes ``[n, T]`` (targeted) or ``[n]``.

    Example:
      >>> d = EvasionData(x, y, all_targets(y, 10))
      >>> res = carlini_wagner_l2(key, (model.apply, params), d, CWConfig())
      >>> float(res.success.mean()), float(res.l2[res.success].mean())
    """
    apply_fn, params = c.white_box(target, "carlini_wagner_l2")
    data = c.check_data(data, None, config.clip)
    num_classes = _width.num_classes(apply_fn, params, data.x.shape[1])
    data = c.check_data(data, num_classes, config.clip)
    targeted = data.targets is not None
    x, y = jnp.asarray(data.x), jnp.asarray(data.y)
    goal = jnp.asarray(data.targets if targeted else c.all_targets(data.y, num_classes))
    x_adv, pred = _cw_batch(apply_fn, params, x, goal, jnp.float32(config.learning_rate),
                            jnp.float32(config.initial_const), jnp.float32(config.confidence),
                            steps=config.steps, search_steps=config.search_steps,
                            clip=config.clip)
    res = _gradient.finish(x, y, goal, True, False, x_adv, pred, 0)
    if targeted:
        return res
    # Untargeted: the closest success over all other labels.
    l2 = jnp.where(res.success, res.l2, jnp.inf)
    best = jnp.argmin(l2, axis=1)
    take = lambda a: jnp.take_along_axis(a, best.reshape((-1,) + (1,) * (a.ndim - 1)),
                                         axis=1)[:, 0]
    return c.EvasionResult(take(res.x_adv), take(res.pred), take(res.success) & (
        take(res.pred) != y), take(res.l2), take(res.linf), 0)
