"""Black-box PGD with gradients estimated from oracle scores (NES).

Ilyas, Engstrom, Athalye, Lin, "Black-box Adversarial Attacks with Limited
Queries and Information", ICML 2018, §2.2 (natural evolution strategies with
antithetic Gaussian samples) feeding the PGD of Madry et al. (ICLR 2018).
The gradient of the attacker's objective (the log-probability the oracle
gives the true label, or the target) is estimated as
``g = 1 / (2 n sigma) sum_i (L(x + sigma u_i) - L(x - sigma u_i)) u_i``.

All queries run inside one compiled program through ``Oracle.pure_fn``; the
exact count, ``items * (steps * 2 * samples + 1)``, is charged to the oracle.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxpriv import _validate
from jaxpriv.attacks.evasion import _common as c
from jaxpriv.attacks.evasion import _gradient
from jaxpriv.oracles import PROBABILITIES, TOPK, Oracle


@dataclasses.dataclass(frozen=True, kw_only=True)
class NESConfig:
    """Black-box PGD settings.

    Attributes:
      norm: ``"linf"`` or ``"l2"``.
      eps: the ball's radius, a number or a sequence ``[E]`` (sweep).
      step_size: PGD step; ``None``: ``2.5 * eps / steps``.
      steps: PGD steps (static).
      samples: antithetic pairs per gradient estimate (static); each costs 2
        queries per item and step.
      sigma: the search distribution's standard deviation.
      random_start: start from a uniform point of the ball.
      clip: the valid input box ``(lo, hi)``.
    """

    norm: str = "linf"
    eps: Any = 0.1
    step_size: Any = None
    steps: int = 40
    samples: int = 25
    sigma: float = 0.01
    random_start: bool = False
    clip: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        _validate.one_of("norm", self.norm, _gradient.NORMS)
        _validate.positive("steps", self.steps)
        _validate.positive("samples", self.samples)
        _validate.positive("sigma", self.sigma)
        object.__setattr__(self, "eps", _gradient._as_tuple("eps", self.eps))
        if self.step_size is not None:
            object.__setattr__(self, "step_size", _gradient._as_tuple("step_size",
                                                                      self.step_size))
        object.__setattr__(self, "clip", _gradient._check_clip(self.clip))

    def queries_per_item(self) -> int:
        return self.steps * 2 * self.samples + 1


@functools.partial(jax.jit, static_argnames=(
    "pure_fn", "norm", "steps", "samples", "random_start", "targeted", "clip"))
def _nes_batch(pure_fn, key, x, goal, eps, step, sigma, *, norm, steps, samples,
               random_start, targeted, clip):
    sign = 1.0 if targeted else -1.0

    def score(k, xs, g):  # xs [m, d] -> [m]: the objective the attacker ascends
        p = pure_fn(k, xs)
        return sign * jnp.log(jnp.maximum(p[:, g], 1e-12))

    def grad_fn(k, xa, g):
        ku, kq = jax.random.split(k)
        u = jax.random.normal(ku, (samples, xa.shape[0]))
        u = jnp.concatenate([u, -u], axis=0)
        vals = score(kq, xa[None] + sigma * u, g)
        return jnp.mean(vals[:, None] * u, axis=0) / sigma

    one = functools.partial(_gradient.pgd_one, grad_fn, norm=norm, steps=steps,
                            random_start=random_start, clip=clip)
    keys = _gradient._item_keys(key, *goal.shape)
    over_t = jax.vmap(one, in_axes=(0, None, 0, None, None))
    over_n = jax.vmap(over_t, in_axes=(0, 0, 0, None, None))
    x_adv = jax.vmap(over_n, in_axes=(None, None, None, 0, 0))(keys, x, goal, eps, step)
    out = pure_fn(jax.random.fold_in(key, 0), x_adv.reshape(-1, x.shape[-1]))
    label = out if out.ndim == 1 else jnp.argmax(out, axis=-1)
    return x_adv, label.reshape(x_adv.shape[:-1]).astype(jnp.int32)


def pgd_nes(key: jax.Array, target: Oracle, data: Any, config: NESConfig = NESConfig()
            ) -> c.EvasionResult:
    """Black-box PGD against an oracle, with NES gradient estimates.

    Ilyas et al., ICML 2018, §2.2 (NES) with Madry et al.'s PGD. Needs
    probability outputs (``top_k`` works too: missing classes score
    ``log 1e-12``). The final labels are read through the oracle as well.

    Args:
      key: PRNG key (search directions, random starts, randomised defences).
      target: an :class:`jaxpriv.oracles.Oracle` returning probabilities.
      data: :class:`EvasionData` (``targets`` for a targeted attack).
      config: :class:`NESConfig`.

    Returns:
      :class:`EvasionResult` (axes as in :func:`pgd`); ``queries`` is the number
      of rows sent to the oracle, also added to ``target.queries``.

    Example:
      >>> oracle = Oracle.from_model(model.apply, params)
      >>> res = pgd_nes(key, oracle, EvasionData(x, y), NESConfig(eps=0.1))
      >>> res.queries == oracle.queries
    """
    if not isinstance(target, Oracle):
        raise ValueError(f"Expected target to be an Oracle for pgd_nes; got "
                         f"{type(target).__name__} (use pgd for white-box access).")
    target.require(PROBABILITIES, TOPK, attack="pgd_nes")
    data = c.check_data(data, None, config.clip)
    if target.input_shape is not None and data.x.shape[1:] != target.input_shape:
        raise ValueError(f"Expected data.x with shape (n, {target.input_shape}); got "
                         f"{data.x.shape}.")
    targeted = data.targets is not None
    eps_arr, sweep = c.eps_array("eps", config.eps)
    if config.step_size is None:
        step_arr = 2.5 * eps_arr / config.steps
    else:
        step_arr, _ = c.eps_array("step_size", config.step_size)
        step_arr = jnp.broadcast_to(step_arr, eps_arr.shape)
    x, y = jnp.asarray(data.x), jnp.asarray(data.y)
    goal = jnp.asarray(data.targets) if targeted else y[:, None]
    total = int(eps_arr.shape[0] * goal.size * config.queries_per_item())
    target.reserve(total)
    x_adv, pred = _nes_batch(target.pure_fn, key, x, goal, eps_arr, step_arr,
                             jnp.float32(config.sigma), norm=config.norm, steps=config.steps,
                             samples=config.samples, random_start=config.random_start,
                             targeted=targeted, clip=config.clip)
    target.charge(total)
    return _gradient.finish(x, y, goal, targeted, sweep, x_adv, pred, total)
