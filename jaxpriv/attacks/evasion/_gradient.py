"""White-box gradient attacks: FGSM and PGD (L-infinity and L2).

Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples",
ICLR 2015, §3 (the fast gradient sign method); Madry, Makelov, Schmidt,
Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018, §2 (projected gradient descent from a random start).

One item is one input (untargeted) or one (input, target label) pair; the
attack is written for one item and ``vmap`` runs all inputs, all target labels
and all epsilons of a sweep as one compiled program.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv.attacks import _width
from jaxpriv.attacks.evasion import _common as c

NORMS = ("linf", "l2")
LOSSES = ("cross_entropy", "margin")


def _check_clip(clip) -> tuple[float, float]:
    if len(clip) != 2 or not clip[0] < clip[1]:
        raise ValueError(f"Expected clip=(lo, hi) with lo < hi; got clip={clip!r}.")
    return float(clip[0]), float(clip[1])


def _as_tuple(name: str, value) -> float | tuple[float, ...]:
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        vals = tuple(float(v) for v in value)
        if not vals:
            raise ValueError(f"Expected {name} to be non-empty; got {value!r}.")
        _validate.positive(name, np.asarray(vals), allow_zero=True)
        return vals
    _validate.positive(name, float(value), allow_zero=True)
    return float(value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PGDConfig:
    """Projected gradient descent (Madry et al., ICLR 2018).

    Attributes:
      norm: ``"linf"`` or ``"l2"``: the ball the perturbation stays in.
      eps: the ball's radius, a number or a sequence ``[E]`` (a sweep run in
        the same compiled call; results gain a leading ``[E]`` axis).
      step_size: step length; ``None``: ``2.5 * eps / steps`` (Madry et al.).
      steps: gradient steps (static).
      random_start: start from a uniform point of the ball.
      loss: ``"cross_entropy"`` or ``"margin"`` (Carlini-Wagner's logit margin).
      clip: the valid input box ``(lo, hi)``.
    """

    norm: str = "linf"
    eps: Any = 0.1
    step_size: Any = None
    steps: int = 40
    random_start: bool = True
    loss: str = "cross_entropy"
    clip: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        _validate.one_of("norm", self.norm, NORMS)
        _validate.one_of("loss", self.loss, LOSSES)
        _validate.positive("steps", self.steps)
        object.__setattr__(self, "eps", _as_tuple("eps", self.eps))
        if self.step_size is not None:
            object.__setattr__(self, "step_size", _as_tuple("step_size", self.step_size))
        object.__setattr__(self, "clip", _check_clip(self.clip))


@dataclasses.dataclass(frozen=True, kw_only=True)
class FGSMConfig:
    """The fast gradient (sign) method (Goodfellow et al., ICLR 2015, §3).

    Attributes:
      norm: ``"linf"`` (the sign step of the paper) or ``"l2"`` (the fast
        gradient method: a step along the normalised gradient).
      eps: step length, a number or a sequence ``[E]`` (sweep).
      loss: ``"cross_entropy"`` or ``"margin"``.
      clip: the valid input box ``(lo, hi)``.
    """

    norm: str = "linf"
    eps: Any = 0.1
    loss: str = "cross_entropy"
    clip: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self):
        _validate.one_of("norm", self.norm, NORMS)
        _validate.one_of("loss", self.loss, LOSSES)
        object.__setattr__(self, "eps", _as_tuple("eps", self.eps))
        object.__setattr__(self, "clip", _check_clip(self.clip))


def objective(logits: jax.Array, goal: jax.Array, loss: str, targeted: bool) -> jax.Array:
    """The quantity the attacker ascends for one item (``logits [c]``, ``goal`` int).

    Untargeted: the loss of the true label ``goal`` (cross-entropy) or
    ``max_{i != goal} z_i - z_goal`` (margin). Targeted: minus the
    cross-entropy of the target, or ``z_goal - max_{i != goal} z_i``.
    """
    if loss == "cross_entropy":
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, goal)
        return -ce if targeted else ce
    other = jnp.max(jnp.where(jnp.arange(logits.shape[-1]) == goal, -jnp.inf, logits))
    margin = logits[goal] - other
    return margin if targeted else -margin


def _random_start(key, d, eps, norm):
    if norm == "linf":
        return jax.random.uniform(key, (d,), minval=-1.0, maxval=1.0) * eps
    k1, k2 = jax.random.split(key)
    u = jax.random.normal(k1, (d,))
    u = u / jnp.maximum(jnp.linalg.norm(u), 1e-12)
    return u * eps * jax.random.uniform(k2) ** (1.0 / d)


def _step(g, step, norm):
    if norm == "linf":
        return step * jnp.sign(g)
    return step * g / jnp.maximum(jnp.linalg.norm(g), 1e-12)


def pgd_one(grad_fn: Callable, key, x, goal, eps, step, *, norm, steps, random_start, clip):
    """PGD for one item: ``x [d]`` -> ``x_adv [d]``.

    ``grad_fn(x_adv, goal) -> d objective / d x_adv`` (white-box autodiff or a
    black-box estimate); the attack ascends it.
    """
    lo, hi = clip
    x0 = x
    if random_start:
        x0 = jnp.clip(x + _random_start(key, x.shape[0], eps, norm), lo, hi)

    def body(i, xa):
        g = grad_fn(jax.random.fold_in(key, i + 1), xa, goal)
        xa = xa + _step(g, step, norm)
        return jnp.clip(x + c.project(xa - x, eps, norm), lo, hi)

    return jax.lax.fori_loop(0, steps, body, x0)


def _item_keys(key, n, t):
    return jax.random.split(key, n * t).reshape(n, t)


@functools.partial(jax.jit, static_argnames=(
    "apply_fn", "norm", "steps", "random_start", "loss", "targeted", "clip"))
def _pgd_batch(apply_fn, params, key, x, goal, eps, step, *, norm, steps, random_start,
               loss, targeted, clip):
    # x [n, d], goal [n, T], eps/step [E] -> x_adv [E, n, T, d], pred [E, n, T]
    def grad_fn(_, xa, g):
        return jax.grad(lambda z: objective(apply_fn(params, z[None])[0], g, loss, targeted))(xa)

    one = functools.partial(pgd_one, grad_fn, norm=norm, steps=steps,
                            random_start=random_start, clip=clip)
    keys = _item_keys(key, *goal.shape)
    over_t = jax.vmap(one, in_axes=(0, None, 0, None, None))
    over_n = jax.vmap(over_t, in_axes=(0, 0, 0, None, None))
    over_e = jax.vmap(over_n, in_axes=(None, None, None, 0, 0))
    x_adv = over_e(keys, x, goal, eps, step)
    logits = apply_fn(params, x_adv.reshape(-1, x.shape[-1]))
    pred = jnp.argmax(logits, axis=-1).reshape(x_adv.shape[:-1]).astype(jnp.int32)
    return x_adv, pred


@functools.partial(jax.jit, static_argnames=("targeted", "sweep"))
def _outcome(x, y, goal, x_adv, pred, *, targeted, sweep):
    # One compiled call: a dozen eager slices cost more than a whole FGSM.
    l2, linf = c.norms(x_adv - x[None, :, None, :])
    success = pred == goal[None] if targeted else pred != y[None, :, None]
    out = [x_adv, pred, success, l2, linf]
    if not targeted:
        out = [o[:, :, 0] for o in out]
    if not sweep:
        out = [o[0] for o in out]
    return out


def finish(x, y, goal, targeted, sweep, x_adv, pred, queries) -> c.EvasionResult:
    """Success and norms for ``x_adv [E, n, T, d]``; squeezes unused axes."""
    out = _outcome(x, y, goal, x_adv, pred, targeted=bool(targeted), sweep=bool(sweep))
    return c.EvasionResult(*out, queries=int(queries))


def _run(name, key, target, data, *, norm, eps, step, steps, random_start, loss, clip):
    apply_fn, params = c.white_box(target, name)
    data = c.check_data(data, None, clip)
    num_classes = _width.num_classes(apply_fn, params, data.x.shape[1])
    data = c.check_data(data, num_classes, clip)
    targeted = data.targets is not None
    eps_arr, sweep = c.eps_array("eps", eps)
    if step is None:
        step_arr = 2.5 * eps_arr / steps
    else:
        step_arr, _ = c.eps_array("step_size", step)
        step_arr = jnp.broadcast_to(step_arr, eps_arr.shape) if step_arr.shape[0] == 1 \
            else step_arr
        if step_arr.shape != eps_arr.shape:
            raise ValueError(f"Expected step_size with {eps_arr.shape[0]} values (one per eps);"
                             f" got {step_arr.shape[0]}.")
    x = jnp.asarray(data.x)
    y = jnp.asarray(data.y)
    goal = jnp.asarray(data.targets) if targeted else y[:, None]
    x_adv, pred = _pgd_batch(apply_fn, params, key, x, goal, eps_arr, step_arr, norm=norm,
                             steps=steps, random_start=random_start, loss=loss,
                             targeted=targeted, clip=clip)
    return finish(x, y, goal, targeted, sweep, x_adv, pred, 0)


def pgd(key: jax.Array, target: Any, data: Any, config: PGDConfig = PGDConfig()
        ) -> c.EvasionResult:
    """Projected gradient descent on every input (and target label) at once.

    Madry et al., ICLR 2018, §2: ``x <- Proj_{B(x0, eps)}(x + alpha sign(grad))``
    (L-infinity) or along the normalised gradient (L2), from a random start.

    Args:
      key: PRNG key (random starts).
      target: white-box ``(apply_fn, params)``, ``apply_fn(params, x[n, d])
        -> logits [n, c]``.
      data: :class:`EvasionData` ``(x [n, d], y [n], targets [n, T] or None)``.
      config: :class:`PGDConfig`.

    Returns:
      :class:`EvasionResult` with item axes ``[n]`` (untargeted) or ``[n, T]``,
      preceded by ``[E]`` when ``config.eps`` is a sequence.

    Example:
      >>> res = pgd(key, (model.apply, params), EvasionData(x, y), PGDConfig(eps=0.1))
      >>> float(res.success.mean())
    """
    return _run("pgd", key, target, data, norm=config.norm, eps=config.eps,
                step=config.step_size, steps=config.steps, random_start=config.random_start,
                loss=config.loss, clip=config.clip)


def fgsm(key: jax.Array, target: Any, data: Any, config: FGSMConfig = FGSMConfig()
         ) -> c.EvasionResult:
    """The fast gradient sign method: one step of length ``eps``.

    Goodfellow et al., ICLR 2015, §3: ``x' = clip(x + eps sign(grad_x J(x, y)))``
    (``norm="l2"``: ``x + eps grad / ||grad||``). Targeted when
    ``data.targets`` is given (a step down the target's loss).

    Args:
      key: PRNG key (unused by the method; kept for the common attack shape).
      target: white-box ``(apply_fn, params)``.
      data: :class:`EvasionData`.
      config: :class:`FGSMConfig`.

    Returns:
      :class:`EvasionResult` (see :func:`pgd` for the axes).
    """
    return _run("fgsm", key, target, data, norm=config.norm, eps=config.eps,
                step=config.eps, steps=1, random_start=False, loss=config.loss,
                clip=config.clip)
