"""MI-Face: model inversion by gradient descent on the target's confidence.

Fredrikson, Jha, Ristenpart, "Model Inversion Attacks that Exploit Confidence
Information and Basic Countermeasures", CCS 2015, Section 5, Algorithm 1::

    c(x) = 1 - f~_label(x) + AuxTerm(x)
    x_0 = 0
    for i = 1..alpha:
        x_i = PROCESS(x_{i-1} - lambda * grad c(x_{i-1}))
        if c(x_i) >= max(c(x_{i-1}), ..., c(x_{i-beta})): break     # stalled
        if c(x_i) <= gamma: break                                     # confident
    return argmin_i c(x_i)

Every label runs in ONE compiled program: the descent for one label is written
once and ``vmap``-ed over labels inside a ``lax.while_loop`` that carries a
per-label "still running" mask, so each label stops by its own rule while the
others go on. The white-box attack differentiates the target; the black-box
attack (:func:`mi_face_blackbox`) estimates the same gradient from oracle
queries made inside the compiled program (``Oracle.pure_fn``) and charges them
to the oracle afterwards.

On a target built from dense layers (softmax regression, MLPs, the DAE
classifier, a converted scikit-learn model) nearly all the time goes to two
skinny matrix products per layer and step; :mod:`._dense` evaluates such
targets for all labels at once with those products laid out in memory the way
XLA:CPU runs them fastest, and any other target takes the generic
``vmap(grad(apply_fn))`` path. Both give the same reconstructions up to float
rounding.

Two facts about the paper's settings are built in:

* ``gamma`` is the confidence to reach: a label stops when
  ``p(label) >= gamma`` (read as a cost threshold, 0.99 would stop after one
  step).
* Costs are compared through ``log p`` in float32: ``1 - p`` rounds to exactly
  1.0 below ``p ~ 6e-8`` and would fake a stall. With ``cost="neg_log_p"`` the
  descent itself climbs ``log p``, whose gradient is ``1 / p`` times that of
  ``p``; use it for targets whose ``p(label)`` at ``x_0`` is tiny (e.g. a
  scikit-learn multinomial LR with large intercepts), which never move under
  ``1 - p``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.attacks import _width
from jaxpriv.attacks.inversion import _dense

Params = Any

COSTS = ("one_minus_p", "neg_log_p")
PROCESSES = ("clip", "none")
SELECT = ("best", "last")
OUTPUTS = ("logits", "probabilities")
ESTIMATORS = ("es", "fd")

# Stop reasons (``MIFaceResult.stop_reason``).
STOP_MAX_ITER = 0
STOP_STALLED = 1
STOP_CONFIDENT = 2
STOP_REASONS = ("max_iterations", "stalled", "confident")

_TINY = 1e-30
_PROBE_LIMIT_BYTES = 4 * 2**30  # black-box probes of one step, all labels together


# ----------------------------------------------------------------------------
# Pluggable pieces: PROCESS and AuxTerm
# ----------------------------------------------------------------------------

class Process(NamedTuple):
    """The PROCESS step of Algorithm 1, applied after every descent step.

    Attributes:
      name: for reports.
      fn: ``fn(params, x[d]) -> x[d]``, pure and jittable (one item; MI-Face
        vmaps it over labels). Keep ``fn`` a module-level function so a second
        attack reuses the compiled program.
      params: a pytree of arrays handed to ``fn`` (traced, not baked in).
    """

    name: str
    fn: Callable[[Params, jax.Array], jax.Array]
    params: Params = ()


class AuxTerm(NamedTuple):
    """An auxiliary cost term ``AuxTerm(x)`` added to ``1 - p`` (or ``-log p``).

    Attributes:
      name: for reports.
      fn: ``fn(params, x[d]) -> scalar``, pure, jittable and differentiable.
      params: a pytree of arrays (e.g. the weight) handed to ``fn``.
    """

    name: str
    fn: Callable[[Params, jax.Array], jax.Array]
    params: Params = ()


def _clip_fn(bounds, x):
    return jnp.clip(x, bounds[0], bounds[1])


def _identity_fn(params, x):
    return x


def clip_process(lo: float = 0.0, hi: float = 1.0) -> Process:
    """Clips every feature to the valid range ``[lo, hi]`` (default pixels in [0, 1]).

    From a black start this pins about half the pixels at 0 and gives dark
    masks; :func:`identity_process` (no clipping) with contrast stretching for
    display looks like the paper's faces.
    """
    if not lo < hi:
        raise ValueError(f"Expected lo={lo} < hi={hi}.")
    return Process(f"clip({lo:g},{hi:g})", _clip_fn, jnp.asarray([lo, hi], jnp.float32))


def identity_process() -> Process:
    """No processing: plain gradient descent on the cost."""
    return Process("none", _identity_fn, ())


def _box_blur(img):
    # 3x3 mean filter with edge padding; img [h, w].
    p = jnp.pad(img, 1, mode="edge")
    h, w = img.shape
    acc = sum(p[i:i + h, j:j + w] for i in range(3) for j in range(3))
    return acc / 9.0


def _dae_fn(static, params, x):
    reconstruct, image_shape = static
    net_params, amount = params
    denoised = reconstruct(net_params, x[None])[0]
    img = denoised.reshape(image_shape)
    sharp = img + amount * (img - _box_blur(img))
    return jnp.clip(sharp, 0.0, 1.0).reshape(x.shape)


@functools.lru_cache(maxsize=None)
def _dae_fn_for(reconstruct, image_shape):
    # One function object per (reconstruct, shape) so the compiled program is reused.
    return functools.partial(_dae_fn, (reconstruct, image_shape))


def dae_process(reconstruct_fn: Callable, params: Params, image_shape: tuple[int, int],
                sharpen: float = 1.0) -> Process:
    """The paper's PROCESS for a denoising-autoencoder target: denoise, then sharpen.

    Fredrikson et al. (CCS 2015, Section 5.2, Process-DAE) pass each iterate
    through the autoencoder and sharpen it. Here ``x`` is denoised by the
    target's own autoencoder (``reconstruct_fn``, e.g.
    :func:`jaxpriv.models.dae_reconstruct_fn`) and then sharpened with an
    unsharp mask ``x + sharpen * (x - blur3x3(x))``, clipped to [0, 1].

    Args:
      reconstruct_fn: ``reconstruct(params, x[n, d]) -> x_denoised[n, d]``.
      params: the DAE's parameters.
      image_shape: ``(height, width)`` with ``height * width == d``.
      sharpen: unsharp-mask amount (0: denoise only).
    """
    if len(tuple(image_shape)) != 2:
        raise ValueError(f"Expected image_shape=(height, width); got {image_shape!r}.")
    _validate.positive("sharpen", sharpen, allow_zero=True)
    fn = _dae_fn_for(reconstruct_fn, tuple(int(s) for s in image_shape))
    return Process(f"dae(sharpen={sharpen:g})", fn, (params, jnp.float32(sharpen)))


def _l2_fn(weight, x):
    return weight * jnp.sum(jnp.square(x))


def _tv_fn(static, weight, x):
    img = x.reshape(static)
    return weight * (jnp.sum(jnp.abs(jnp.diff(img, axis=0)))
                     + jnp.sum(jnp.abs(jnp.diff(img, axis=1))))


@functools.lru_cache(maxsize=None)
def _tv_fn_for(image_shape):
    return functools.partial(_tv_fn, image_shape)


def l2_aux(weight: float) -> AuxTerm:
    """``weight * ||x||^2``: keeps reconstructions small."""
    _validate.positive("weight", weight, allow_zero=True)
    return AuxTerm(f"l2({weight:g})", _l2_fn, jnp.float32(weight))


def tv_aux(weight: float, image_shape: tuple[int, int]) -> AuxTerm:
    """``weight * total_variation(x)`` (anisotropic): smooth images."""
    _validate.positive("weight", weight, allow_zero=True)
    return AuxTerm(f"tv({weight:g})", _tv_fn_for(tuple(int(s) for s in image_shape)),
                   jnp.float32(weight))


def _zero_aux(params, x):
    return jnp.zeros((), x.dtype)


# ----------------------------------------------------------------------------
# Config and result
# ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class MIFaceConfig:
    """Settings of MI-Face (Fredrikson et al., CCS 2015, Algorithm 1).

    Static fields (shapes, step counts, method choices) select the compiled
    program; ``learning_rate`` and ``gamma`` are passed to it as arrays, so
    new values reuse it.

    Attributes:
      num_features: input width ``d`` of the target.
      alpha: maximum number of descent steps per label.
      beta: stall window: a label stops when its cost is no lower than the
        largest of its previous ``beta`` costs (0 disables the test).
      gamma: the confidence to reach: a label stops when ``p(label) >= gamma``
        (a value above 1 disables the test). The paper's 0.99.
      learning_rate: ``lambda``, the step size (the paper's 0.1; 1.0 gives the
        same softmax faces about 10x sooner).
      cost: ``"one_minus_p"`` (the paper) or ``"neg_log_p"``.
      process: ``"clip"`` (to [0, 1]), ``"none"``, or a :class:`Process`
        (e.g. :func:`dae_process`).
      aux: an :class:`AuxTerm` added to the cost, or ``None``.
      outputs: what ``apply_fn`` returns: ``"logits"`` or ``"probabilities"``.
      select: return the ``"best"`` iterate (lowest cost; the paper) or the
        ``"last"`` one (ART's behaviour, for matched comparisons).
      init: the value of every feature of ``x_0`` (the paper's 0).
      estimator: black-box only: ``"es"`` (antithetic Gaussian directions,
        ``2 * num_directions`` queries per step) or ``"fd"`` (forward
        differences along every coordinate, ``d`` queries per step).
      num_directions: black-box ``"es"``: directions per step.
      sigma: black-box: the probe's step (ES smoothing radius or FD step).
    """

    num_features: int
    alpha: int = 5000
    beta: int = 100
    gamma: float = 0.99
    learning_rate: float = 0.1
    cost: str = "one_minus_p"
    process: str | Process = "clip"
    aux: AuxTerm | None = None
    outputs: str = "logits"
    select: str = "best"
    init: float = 0.0
    estimator: str = "es"
    num_directions: int = 32
    sigma: float = 1e-2

    def __post_init__(self):
        _validate.positive("num_features", self.num_features)
        _validate.positive("alpha", self.alpha)
        _validate.positive("beta", self.beta, allow_zero=True)
        _validate.positive("gamma", self.gamma)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.one_of("cost", self.cost, COSTS)
        if not isinstance(self.process, Process):
            _validate.one_of("process", self.process, PROCESSES)
        if self.aux is not None and not isinstance(self.aux, AuxTerm):
            raise ValueError(f"Expected aux to be an AuxTerm or None; got {self.aux!r}.")
        _validate.one_of("outputs", self.outputs, OUTPUTS)
        _validate.one_of("select", self.select, SELECT)
        if not np.isfinite(self.init):
            raise ValueError(f"Expected init={self.init!r} to be finite.")
        _validate.one_of("estimator", self.estimator, ESTIMATORS)
        _validate.positive("num_directions", self.num_directions)
        _validate.positive("sigma", self.sigma)
        for name in ("num_features", "alpha", "beta", "num_directions"):
            if int(getattr(self, name)) != getattr(self, name):
                raise ValueError(f"Expected {name}={getattr(self, name)!r} to be an integer.")

    @property
    def process_obj(self) -> Process:
        if isinstance(self.process, Process):
            return self.process
        return clip_process() if self.process == "clip" else identity_process()

    @property
    def queries_per_step(self) -> int:
        """Black-box queries per evaluation (one value + the gradient estimate)."""
        probe = 2 * self.num_directions if self.estimator == "es" else self.num_features
        return probe + 1


class MIFaceResult(NamedTuple):
    """What MI-Face returns, one row per attacked label.

    Attributes:
      x: float32 ``[num_labels, d]``, the reconstruction (argmin of the
        comparison cost over the iterates, or the last iterate).
      cost: float32 ``[num_labels]``, the cost ``c(x)`` at ``x`` (``1 - p + aux``
        or ``-log p + aux``).
      log_prob: float32 ``[num_labels]``, ``log p(label | x)``.
      iterations: int32 ``[num_labels]``, descent steps each label took.
      stop_reason: int32 ``[num_labels]``, index into ``STOP_REASONS``.
      queries: int32 ``[num_labels]``, oracle queries each label made (0 for
        the white-box attack).
    """

    x: jax.Array
    cost: jax.Array
    log_prob: jax.Array
    iterations: jax.Array
    stop_reason: jax.Array
    queries: jax.Array

    @property
    def total_queries(self) -> int:
        return int(np.sum(np.asarray(self.queries)))


# ----------------------------------------------------------------------------
# The descent, for one label, vmapped over labels inside one while_loop
# ----------------------------------------------------------------------------

class _State(NamedTuple):
    x: jax.Array          # [L, d] the iterate x_step to evaluate next (frozen once its label stops)
    window: Any           # [L, beta] comparison keys of previous iterates (None: beta=0)
    best_x: Any           # [L, d] returned iterate so far (None with select="last": it is x)
    best_key: jax.Array   # [L] comparison key of the returned iterate (lower is better)
    best_cost: jax.Array  # [L]
    best_logp: jax.Array  # [L]
    running: jax.Array    # bool [L]
    iters: jax.Array      # int32 [L]
    reason: jax.Array     # int32 [L]
    step: jax.Array       # int32 [] index of x (0: the start x_0)


def _log_prob(outputs_kind, out, label):
    if outputs_kind == "logits":
        return jax.nn.log_softmax(out)[label]
    return jnp.log(jnp.maximum(out[label], _TINY))


def _costs(cost_kind, logp, aux):
    """``(cost, comparison key)``: the key orders iterates exactly like the cost but
    is computed without rounding ``1 - p`` (through ``log p`` when there is no
    aux term, else as ``aux - p``)."""
    p = jnp.exp(logp)
    if cost_kind == "neg_log_p":
        cost = -logp + aux
        return cost, cost
    cost = 1.0 - p + aux
    return cost, aux - p


def _descend(evaluate, process_fn, static, dyn, lr, gamma, x0):
    """The batched Algorithm 1.

    ``evaluate(x[L, d], step) -> (log_p, grad[L, d], comparison_key, cost)``, all
    labels at once; ``static = (alpha, beta, select)``. Returns ``(x, state)``
    with ``x`` the returned iterate of each label.

    One loop iteration evaluates ``x_i`` (``i = 0`` is the start), applies the
    stop rules to it and takes the descent step to ``x_{i+1}``, so the target
    is evaluated at one place in the program and the gradient never leaves
    the iteration. Besides the gradient, an iteration makes one elementwise
    pass over ``[L, d]`` (descent step, PROCESS and the freeze of stopped
    labels, fused), plus the copy into ``best_x`` with ``select="best"``.
    """
    alpha, beta, select = static
    num = x0.shape[0]
    log_gamma = jnp.log(gamma)
    best = select == "best"
    init = _State(
        x=x0,
        window=jnp.full((num, beta), -jnp.inf, jnp.float32) if beta > 0 else None,
        best_x=x0 if best else None,
        best_key=jnp.zeros((num,), jnp.float32), best_cost=jnp.zeros((num,), jnp.float32),
        best_logp=jnp.zeros((num,), jnp.float32),
        running=jnp.ones((num,), bool),
        iters=jnp.zeros((num,), jnp.int32),
        reason=jnp.full((num,), STOP_MAX_ITER, jnp.int32),
        step=jnp.int32(0),
    )

    def cond(s):
        return jnp.any(s.running) & (s.step <= alpha)

    def body(s):
        first = s.step == 0  # x_0: only the confidence test applies
        run = s.running
        logp, grad, key, cost = evaluate(s.x, s.step)
        confident = logp >= log_gamma
        if beta > 0:
            stalled = (key >= jnp.max(s.window, axis=1)) & ~first
            slot = s.step % beta
            window = s.window.at[:, slot].set(jnp.where(run, key, s.window[:, slot]))
        else:
            stalled, window = jnp.zeros_like(run), None
        # "last" keeps the latest iterate of each running label.
        better = run & ((key < s.best_key) | first) if best else run
        running = run & ~stalled & ~confident
        advance = running & (s.step < alpha)
        stepped = jax.vmap(process_fn, in_axes=(None, 0))(dyn, s.x - lr[:, None] * grad)
        if best:
            best_x = jnp.where(better[:, None], s.x, s.best_x)
            # A stopped label's x is never read again; taking best_x there makes
            # the step read best_x after its update, so x is updated in place
            # (no copy of x per iteration).
            x = jnp.where(advance[:, None], stepped, best_x)
        else:
            best_x, x = None, jnp.where(advance[:, None], stepped, s.x)
        return _State(
            x=x,
            window=window,
            best_x=best_x,
            best_key=jnp.where(better, key, s.best_key),
            best_cost=jnp.where(better, cost, s.best_cost),
            best_logp=jnp.where(better, logp, s.best_logp),
            running=running,
            iters=s.iters + (run & ~first).astype(jnp.int32),
            reason=jnp.where(run & confident, STOP_CONFIDENT,
                             jnp.where(run & stalled, STOP_STALLED, s.reason)).astype(jnp.int32),
            step=s.step + 1,
        )

    s = jax.lax.while_loop(cond, body, init)
    return (s.best_x if best else s.x), s


def _per_label_evaluate(evaluate, labels, keys=None):
    """Batches a one-label ``evaluate(label, x[d], key)`` over all labels."""
    def batched(x, step):
        ks = (jax.vmap(lambda k: jax.random.fold_in(k, step))(keys) if keys is not None
              else jnp.zeros((labels.shape[0],), jnp.uint32))
        return jax.vmap(evaluate)(labels, x, ks)

    return batched


def _whitebox_evaluate(apply_fn, outputs_kind, cost_kind, aux_fn, params, aux_params):
    def cost_fn(x, label):
        out = apply_fn(params, x[None])[0]
        logp = _log_prob(outputs_kind, out, label)
        aux = aux_fn(aux_params, x)
        cost, key = _costs(cost_kind, logp, aux)
        return cost, (logp, key)

    def evaluate(label, x, key):
        del key
        (cost, (logp, ckey)), grad = jax.value_and_grad(cost_fn, has_aux=True)(x, label)
        return logp, grad, ckey, cost

    return evaluate


def _dense_evaluate(plan, outputs_kind, cost_kind, aux_fn, params, aux_params, labels):
    """All labels at once through :mod:`_dense` (same values as the per-label path)."""
    weights = _dense.kernels(plan, params)

    def label_cost(out, x, label):
        logp = _log_prob(outputs_kind, out, label)
        cost, key = _costs(cost_kind, logp, aux_fn(aux_params, x))
        return cost, (logp, key)

    def total(x):
        out = _dense.apply(plan, params, weights, x)
        cost, (logp, key) = jax.vmap(label_cost)(out, x, labels)
        return jnp.sum(cost), (logp, key, cost)

    def evaluate(x, step):
        del step
        (_, (logp, key, cost)), grad = jax.value_and_grad(total, has_aux=True)(x)
        return logp, grad, key, cost

    return evaluate


@functools.partial(jax.jit, static_argnames=(
    "apply_fn", "plan", "outputs_kind", "cost_kind", "aux_fn", "process_fn", "alpha", "beta",
    "select"))
def _mi_face_whitebox(params, labels, lr, gamma, x0, proc_params, aux_params, *, apply_fn, plan,
                      outputs_kind, cost_kind, aux_fn, process_fn, alpha, beta, select):
    if plan is not None:
        evaluate = _dense_evaluate(plan, outputs_kind, cost_kind, aux_fn, params, aux_params,
                                   labels)
    else:
        evaluate = _per_label_evaluate(
            _whitebox_evaluate(apply_fn, outputs_kind, cost_kind, aux_fn, params, aux_params),
            labels)
    return _descend(evaluate, process_fn, (alpha, beta, select), proc_params, lr, gamma, x0)


def _blackbox_evaluate(query, cost_kind, aux_fn, aux_params, estimator, num_dirs, sigma, d):
    def value(label, xs, key):
        # xs [m, d] -> comparison keys, costs and log p, [m] each.
        probs = query(key, xs)
        logp = jnp.log(jnp.maximum(probs[:, label], _TINY))
        aux = jax.vmap(lambda z: aux_fn(aux_params, z))(xs)
        cost, ckey = _costs(cost_kind, logp, aux)
        return logp, cost, ckey

    def evaluate(label, x, key):
        k_val, k_dir, k_probe = jax.random.split(key, 3)
        logp, cost, ckey = value(label, x[None], k_val)
        logp, cost, ckey = logp[0], cost[0], ckey[0]
        if estimator == "es":
            u = jax.random.normal(k_dir, (num_dirs, d), jnp.float32)
            xs = jnp.concatenate([x[None] + sigma * u, x[None] - sigma * u], axis=0)
            _, c, _ = value(label, xs, k_probe)
            diff = c[:num_dirs] - c[num_dirs:]
            grad = (diff @ u) / (2.0 * sigma * num_dirs)
        else:
            xs = x[None] + sigma * jnp.eye(d, dtype=jnp.float32)
            _, c, _ = value(label, xs, k_probe)
            grad = (c - cost) / sigma
        return logp, grad, ckey, cost

    return evaluate


@functools.partial(jax.jit, static_argnames=(
    "query", "cost_kind", "aux_fn", "process_fn", "alpha", "beta", "select", "estimator",
    "num_dirs"))
def _mi_face_blackbox(key, labels, lr, gamma, sigma, x0, proc_params, aux_params, *, query,
                      cost_kind, aux_fn, process_fn, alpha, beta, select, estimator, num_dirs):
    d = x0.shape[1]
    evaluate = _blackbox_evaluate(query, cost_kind, aux_fn, aux_params, estimator, num_dirs,
                                  sigma, d)
    keys = jax.random.split(key, labels.shape[0])
    return _descend(_per_label_evaluate(evaluate, labels, keys), process_fn,
                    (alpha, beta, select), proc_params, lr, gamma, x0)


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------

def _check_labels(labels, num_classes):
    arr = _validate.array("labels", labels, dtype_kind="iu")
    if arr.ndim == 0:
        arr = arr[None]
    return _validate.labels("labels", arr.reshape(-1), num_classes)


def _per_label(name, value, num):
    arr = np.asarray(value, np.float32)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (num,))
    arr = _validate.array(name, arr, shape=(num,))
    return jnp.asarray(arr, jnp.float32)


def _result(x, state: _State, queries) -> MIFaceResult:
    return MIFaceResult(x=x, cost=state.best_cost, log_prob=state.best_logp,
                        iterations=state.iters, stop_reason=state.reason, queries=queries)


def mi_face(key: jax.Array, target: tuple[Callable, Params], labels: Any,
            config: MIFaceConfig, *, learning_rate: Any = None,
            gamma: Any = None) -> MIFaceResult:
    """White-box MI-Face (Fredrikson, Jha, Ristenpart, CCS 2015, Algorithm 1).

    Reconstructs a representative input of each label by gradient descent on
    ``c(x) = 1 - p(label | x) + AuxTerm(x)`` (or ``-log p + AuxTerm``), for all
    labels at once in one compiled ``lax.while_loop``; each label stops by its
    own rule (stall over ``beta`` steps, confidence ``gamma`` reached, or
    ``alpha`` steps).

    Args:
      key: PRNG key (unused by the deterministic white-box descent; kept first
        for the common attack shape).
      target: ``(apply_fn, params)``, ``apply_fn(params, x[n, d]) -> [n, c]``
        logits (or probabilities with ``config.outputs="probabilities"``).
        Any Flax model, a converted scikit-learn model or hand-written weights.
      labels: int ``[num_labels]`` labels to invert (e.g. ``jnp.arange(40)``).
      config: :class:`MIFaceConfig`.
      learning_rate, gamma: optional overrides of the config's values, each a
        scalar or ``[num_labels]`` array (a sweep runs as one program).

    Returns:
      :class:`MIFaceResult` with ``x`` ``[num_labels, d]``.

    Example:
      >>> cfg = MIFaceConfig(num_features=10304, alpha=1000, learning_rate=1.0)
      >>> res = mi_face(jax.random.key(0), (model.apply, params), jnp.arange(40), cfg)
      >>> faces = res.x.reshape(40, 112, 92)
    """
    if not isinstance(config, MIFaceConfig):
        raise ValueError(f"Expected config to be an MIFaceConfig; got {type(config).__name__}.")
    if hasattr(target, "pure_fn") and hasattr(target, "require"):
        raise ValueError("Expected a white-box target (apply_fn, params); got an Oracle. "
                         "Use mi_face_blackbox for black-box access.")
    if not (isinstance(target, tuple) and len(target) == 2 and callable(target[0])):
        raise ValueError("Expected target=(apply_fn, params) with a callable apply_fn; got "
                         f"{type(target).__name__}.")
    apply_fn, params = target
    d = int(config.num_features)
    labels = _check_labels(labels, _width.num_classes(
        apply_fn, params, d, hint="Check config.num_features."))
    num = labels.shape[0]
    lr = _per_label("learning_rate", config.learning_rate if learning_rate is None
                    else learning_rate, num)
    gm = _per_label("gamma", config.gamma if gamma is None else gamma, num)
    _validate.positive("learning_rate", np.asarray(lr))
    _validate.positive("gamma", np.asarray(gm))
    proc = config.process_obj
    aux = config.aux
    # The dense layouts are tuned for XLA:CPU; other backends take the generic path.
    plan = _dense.dense_plan(apply_fn, params, d) if jax.default_backend() == "cpu" else None
    x, state = _mi_face_whitebox(
        params, jnp.asarray(labels, jnp.int32), lr, gm,
        jnp.full((num, d), config.init, jnp.float32), proc.params,
        () if aux is None else aux.params,
        apply_fn=None if plan is not None else apply_fn, plan=plan,
        outputs_kind=config.outputs, cost_kind=config.cost,
        aux_fn=_zero_aux if aux is None else aux.fn, process_fn=proc.fn,
        alpha=int(config.alpha), beta=int(config.beta), select=config.select)
    return _result(x, state, jnp.zeros((num,), jnp.int32))


def mi_face_blackbox(key: jax.Array, target: Any, labels: Any, config: MIFaceConfig, *,
                     learning_rate: Any = None, gamma: Any = None) -> MIFaceResult:
    """Black-box MI-Face: Algorithm 1 with gradients estimated from oracle queries.

    Fredrikson et al. (CCS 2015, Section 5.3) run MI-Face against prediction
    APIs that return confidences only, estimating the gradient numerically.
    Here each step estimates ``grad c(x)`` per label either from
    ``config.num_directions`` antithetic Gaussian directions (evolution
    strategies: ``g = sum_k (c(x + s u_k) - c(x - s u_k)) u_k / (2 s K)``) or by
    forward differences along every coordinate; all labels and all probes of a
    step are one batched oracle call inside the compiled loop
    (``Oracle.pure_fn``). Queries are charged to the oracle afterwards; the
    worst case must fit its budget before the attack starts.

    Args:
      key: PRNG key for the probe directions (same key, same result).
      target: a :class:`jaxpriv.oracles.Oracle` returning probabilities (any
        output defence that keeps confidences, e.g. rounding, is allowed and is
        what the attack then sees).
      labels: int ``[num_labels]``.
      config: :class:`MIFaceConfig` (``estimator``, ``num_directions``,
        ``sigma`` apply here).
      learning_rate, gamma: optional overrides, scalar or ``[num_labels]``.

    Returns:
      :class:`MIFaceResult`; ``queries`` holds each label's query count, and
      ``target.queries`` grew by their sum.

    Raises:
      jaxpriv.oracles.AccessError: the oracle gives only labels (or no
        confidences at all).
    """
    if not isinstance(config, MIFaceConfig):
        raise ValueError(f"Expected config to be an MIFaceConfig; got {type(config).__name__}.")
    if not (hasattr(target, "pure_fn") and hasattr(target, "require")):
        raise ValueError(f"Expected target to be an Oracle; got {type(target).__name__}. "
                         "Use mi_face for white-box (apply_fn, params) targets.")
    from jaxpriv.oracles import PROBABILITIES, TOPK

    target.require(PROBABILITIES, TOPK, attack="black-box MI-Face")
    d = int(config.num_features)
    if target.input_shape is not None and tuple(target.input_shape) != (d,):
        raise ValueError(f"Expected an oracle over inputs of shape ({d},) "
                         f"(config.num_features); got input_shape={target.input_shape}.")
    out = jax.eval_shape(lambda x: target.pure_fn(jax.random.key(0), x),
                         jax.ShapeDtypeStruct((1, d), jnp.float32))
    labels = _check_labels(labels, int(out.shape[-1]))
    num = labels.shape[0]
    lr = _per_label("learning_rate", config.learning_rate if learning_rate is None
                    else learning_rate, num)
    gm = _per_label("gamma", config.gamma if gamma is None else gamma, num)
    _validate.positive("learning_rate", np.asarray(lr))
    _validate.positive("gamma", np.asarray(gm))
    per_eval = config.queries_per_step
    probe_bytes = 4 * num * (per_eval - 1) * d
    if probe_bytes > _PROBE_LIMIT_BYTES:
        raise ValueError(
            f"Expected the probes of one step ({num} labels x {per_eval - 1} queries x {d} "
            f"features = {probe_bytes / 2**30:.1f} GiB) to fit in "
            f"{_PROBE_LIMIT_BYTES / 2**30:.0f} GiB; use estimator='es' with fewer "
            "num_directions, or attack fewer labels per call.")
    target.reserve(num * per_eval * (int(config.alpha) + 1))
    proc = config.process_obj
    aux = config.aux
    x, state = _mi_face_blackbox(
        key, jnp.asarray(labels, jnp.int32), lr, gm, jnp.float32(config.sigma),
        jnp.full((num, d), config.init, jnp.float32), proc.params,
        () if aux is None else aux.params,
        query=target.pure_fn, cost_kind=config.cost,
        aux_fn=_zero_aux if aux is None else aux.fn, process_fn=proc.fn,
        alpha=int(config.alpha), beta=int(config.beta), select=config.select,
        estimator=config.estimator, num_dirs=int(config.num_directions))
    queries = (state.iters + 1) * per_eval
    target.charge(int(np.sum(np.asarray(queries))))
    return _result(x, state, queries.astype(jnp.int32))
