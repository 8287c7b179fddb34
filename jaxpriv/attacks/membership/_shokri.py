"""The shadow-model membership inference attack of Shokri et al.

Shokri, Stronati, Song, Shmatikov, "Membership Inference Attacks Against
Machine Learning Models", IEEE S&P 2017, Sections IV-B to IV-D: shadow models
trained on the attacker's data label their own outputs on members ("in") and
non-members ("out"); one binary attack model per class learns to tell them
apart; the attack models then classify the target's output on a record.
Here all classes' attack models train together (``fit_many`` vmaps over the
classes, each model's member mask selects its class's rows), and the
target is queried only through its oracle.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _parallel, _validate, training
from jaxpriv.attacks.membership import _common
from jaxpriv.attacks.membership._shadow import ShadowConfig, Shadows, shadow_outputs, train_shadows
from jaxpriv.models import make_model
from jaxpriv.oracles import LABEL, PROBABILITIES, TOPK

FEATURES = ("probs", "log_probs", "sorted")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShokriConfig:
    """Settings of the Shokri attack.

    Attributes:
      shadow: how the shadow models are built (:class:`ShadowConfig`).
      attack_hidden: hidden widths of each per-class attack model (an MLP).
      attack_epochs, attack_batch_size, attack_learning_rate: attack-model
        training (Adam).
      features: the attack model's input: ``"probs"`` (the prediction vector,
        as in the paper), ``"log_probs"`` (its logarithm, floored at 1e-8) or
        ``"sorted"`` (the vector sorted in descending order, class-agnostic as
        in Salem et al.'s ML-Leaks, NDSS 2019).
      threshold: predict "member" when the attack model's probability is at
        least this.
    """

    shadow: ShadowConfig
    attack_hidden: tuple[int, ...] = (64,)
    attack_epochs: int = 30
    attack_batch_size: int = 128
    attack_learning_rate: float = 1e-3
    features: str = "probs"
    threshold: float = 0.5

    def __post_init__(self):
        if not isinstance(self.shadow, ShadowConfig):
            raise ValueError(f"Expected shadow to be a ShadowConfig; got {type(self.shadow).__name__}.")
        _validate.positive("attack_epochs", self.attack_epochs)
        _validate.positive("attack_batch_size", self.attack_batch_size)
        _validate.positive("attack_learning_rate", self.attack_learning_rate)
        _validate.one_of("features", self.features, FEATURES)
        _validate.in_range("threshold", self.threshold, 0.0, 1.0)


class ShokriData(NamedTuple):
    """What the attacker holds.

    Attributes:
      shadow_x: float ``[n, d]`` records to train shadow models on (real,
        marginal-statistics, noisy or model-synthesised data).
      shadow_y: int ``[n]`` their labels.
      x: float ``[m, d]`` the records whose membership is inferred.
      y: int ``[m]`` their labels.
    """

    shadow_x: Any
    shadow_y: Any
    x: Any
    y: Any


class AttackSet(NamedTuple):
    """The attack models' training set, built from shadow outputs.

    Attributes:
      features: float ``[r, c]`` the (defended) shadow outputs.
      labels: int ``[r]`` the class of each record (which attack model).
      membership: int ``[r]`` 1 for "in", 0 for "out".
    """

    features: jax.Array
    labels: np.ndarray
    membership: np.ndarray


class AttackModels(NamedTuple):
    """One binary attack model per class; parameters stacked ``[C, ...]``."""

    params: Any
    train_accuracy: jax.Array  # float32 [C]: accuracy on its own training rows


class ShokriResult(NamedTuple):
    """Result of :func:`shokri_attack`.

    Attributes:
      scores: float32 ``[m]`` the attack model's probability of "member".
      predictions: bool ``[m]`` ``scores >= threshold``.
      queries: rows sent to the target oracle.
      attack_train_accuracy: float32 ``[C]`` per-class attack-model accuracy on
        the shadow attack set.
    """

    scores: jax.Array
    predictions: jax.Array
    queries: int
    attack_train_accuracy: jax.Array


def featurize(outputs: jax.Array, num_classes: int, features: str = "probs") -> jax.Array:
    """Attack-model inputs ``[..., c]`` from oracle outputs (vectors or labels)."""
    p = _common.to_probabilities(outputs, num_classes)
    if features == "log_probs":
        return jnp.log(jnp.maximum(p, 1e-8))
    if features == "sorted":
        return -jnp.sort(-p, axis=-1)
    return p


def attack_set(key: jax.Array, shadows: Shadows, apply_fn, x: Any, y: Any, num_classes: int,
               *, defenses=(), features: str = "probs") -> AttackSet:
    """Labels every shadow model's output on its members (1) and known
    non-members (0) (Shokri et al. 2017, Section IV-C).

    Args:
      key: PRNG key for randomised output defences.
      shadows: trained :class:`Shadows` over the pool ``x``.
      apply_fn: the shadow architecture's ``apply``.
      x, y: the pool ``[n, d]``, ``[n]`` the shadows were trained on.
      num_classes: C.
      defenses: the target oracle's output defences, applied to shadow outputs
        too so that the attack models see what the target will show.
      features: see :class:`ShokriConfig`.

    Returns:
      :class:`AttackSet` with ``r = in_mask.sum() + out_mask.sum()`` rows.
    """
    outs = shadow_outputs(key, shadows, apply_fn, x, defenses)
    feats = featurize(outs, num_classes, features)  # [K, n, c]
    k_in, i_in = np.nonzero(shadows.in_mask)
    k_out, i_out = np.nonzero(shadows.out_mask)
    ks = np.concatenate([k_in, k_out])
    rows = np.concatenate([i_in, i_out])
    member = np.concatenate([np.ones(i_in.size, np.int32), np.zeros(i_out.size, np.int32)])
    return AttackSet(feats[jnp.asarray(ks), jnp.asarray(rows)], np.asarray(y)[rows].astype(np.int32),
                     member)


def train_attack_models(key: jax.Array, data: AttackSet, num_classes: int,
                        config: ShokriConfig) -> AttackModels:
    """Trains the C per-class attack models together, vmapped over classes.

    The attack set is grouped by class into a padded ``[C, M, c]`` block
    (``M`` the largest class; padding rows have weight 0), and one compiled
    program trains all C binary MLPs with Adam: ``lax.scan`` over epochs and
    minibatches, ``vmap`` over classes; a class's model only takes steps on
    minibatches holding its own rows. A class with no rows in the attack set
    gets a model trained on all rows.
    """
    feats = np.asarray(data.features, np.float32)
    labels = np.asarray(data.labels)
    member = np.asarray(data.membership, np.int32)
    groups = [np.flatnonzero(labels == c) for c in range(num_classes)]
    groups = [g if g.size else np.arange(labels.size) for g in groups]
    m = max(g.size for g in groups)
    idx = np.stack([np.pad(g, (0, m - g.size)) for g in groups])  # [C, M]
    w = np.stack([np.arange(m) < g.size for g in groups]).astype(np.float32)
    keys = jax.random.split(key, num_classes)
    fx, fy, fw = jnp.asarray(feats[idx]), jnp.asarray(member[idx]), jnp.asarray(w)
    lr = jnp.float32(config.attack_learning_rate)
    # On CPU the classes train as chunks on host threads (see jaxpriv._parallel),
    # each chunk dealt classes of every size so that the chunks take equal time.
    # Every chunk has the same size (the last one repeats a class), so one
    # program serves all of them.
    threads = _parallel.host_threads()
    per = _parallel.split(num_classes, threads)
    chunks = -(-num_classes // per)
    by_size = np.argsort([-g.size for g in groups], kind="stable")
    parts = [np.pad(by_size[j::chunks], (0, per - by_size[j::chunks].size), mode="edge")
             for j in range(chunks)]

    def train(cls):
        c = jnp.asarray(cls)
        return _train_attack_jit(tuple(config.attack_hidden), config.attack_epochs,
                                 config.attack_batch_size, keys[c], fx[c], fy[c], fw[c], lr)

    outs = _parallel.map_chunks(train, parts, threads)
    dealt = np.concatenate(parts)
    where = np.empty(num_classes, np.int64)  # class -> its position in the concatenation
    where[dealt] = np.arange(dealt.size)     # a repeated class: either copy (the same model)
    params, acc = jax.tree_util.tree_map(lambda a: a[jnp.asarray(where)],
                                         _parallel.concat(outs))
    return AttackModels(params, acc)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _train_attack_jit(hidden, epochs, batch_size, keys, feats, member, w, lr):
    num_classes, m, f = feats.shape
    model = _attack_model(f, hidden)
    nb = -(-m // batch_size)
    pad = nb * batch_size - m
    tx = optax.adam(lr)

    def loss_fn(params, xb, yb, wb):
        per = optax.softmax_cross_entropy_with_integer_labels(model.apply(params, xb), yb)
        return jnp.sum(wb * per) / jnp.maximum(jnp.sum(wb), 1.0)

    def one(key, x, y, wt):
        k_init, k_epochs = jax.random.split(key)
        params = model.init(k_init, x[:1])
        opt = tx.init(params)

        def epoch(carry, ek):
            # This class's rows first (random order), padding last.
            perm = training.random_order(ek, m, wt <= 0)
            order = jnp.concatenate([perm, jnp.zeros(pad, perm.dtype)]).reshape(nb, batch_size)
            live_w = jnp.concatenate([wt[perm], jnp.zeros(pad)]).reshape(nb, batch_size)

            def step(c, b):
                params, opt = c
                i, wb = b
                grads = jax.grad(loss_fn)(params, x[i], y[i], wb)
                updates, new_opt = tx.update(grads, opt, params)
                new_params = optax.apply_updates(params, updates)
                live = jnp.sum(wb) > 0
                keep = lambda a, b: jnp.where(live, a, b)
                return (jax.tree_util.tree_map(keep, new_params, params),
                        jax.tree_util.tree_map(keep, new_opt, opt)), None

            carry, _ = jax.lax.scan(step, carry, (order, live_w))
            return carry, None

        (params, _), _ = jax.lax.scan(epoch, (params, opt), jax.random.split(k_epochs, epochs))
        correct = (jnp.argmax(model.apply(params, x), -1) == y).astype(jnp.float32)
        return params, jnp.sum(correct * wt) / jnp.maximum(jnp.sum(wt), 1.0)

    return jax.vmap(one)(keys, feats, member, w)


@functools.lru_cache(maxsize=None)
def _attack_model(num_features: int, hidden: tuple[int, ...]):
    return make_model("mlp", num_features=num_features, num_classes=2, hidden=hidden)


@functools.partial(jax.jit, static_argnums=0)
def _score(apply_fn, params, feats, y):
    logits = jax.vmap(apply_fn, in_axes=(0, None))(params, feats)  # [C, m, 2]
    mine = jnp.take_along_axis(logits, y[None, :, None], axis=0)[0]  # [m, 2]
    return jax.nn.softmax(mine, axis=-1)[:, 1]


def attack_scores(models: AttackModels, features: Any, y: Any) -> jax.Array:
    """Probability of "member" ``[m]`` from each record's class attack model."""
    feats = jnp.asarray(features, jnp.float32)
    model = _attack_model(feats.shape[1], _hidden_of(models.params))
    return _score(model.apply, models.params, feats, jnp.asarray(y, jnp.int32))


def _hidden_of(params) -> tuple[int, ...]:
    names = sorted((k for k in params if k.startswith("hidden_")), key=lambda s: int(s[7:]))
    return tuple(int(params[k]["kernel"].shape[-1]) for k in names)


def shokri_attack(key: jax.Array, target: Any, data: ShokriData, config: ShokriConfig, *,
                  shadows: Shadows | None = None) -> ShokriResult:
    """Membership inference with shadow models (Shokri et al., S&P 2017, Section IV).

    Trains ``config.shadow.num_shadows`` shadow models on ``data.shadow_x``,
    builds the attack set from their outputs (through the target oracle's
    output defences), trains one attack model per class, then queries the
    target once per record in ``data.x`` and scores it with the attack model of
    its class.

    Args:
      key: PRNG key.
      target: an :class:`~jaxpriv.oracles.Oracle` (probabilities, top-k or
        labels) or a white-box ``(apply_fn, params)``.
      data: :class:`ShokriData`.
      config: :class:`ShokriConfig`.
      shadows: already trained shadow models over ``data.shadow_x`` (to reuse
        them across output defences); else trained here.

    Returns:
      :class:`ShokriResult`; ``queries = m``.

    Example:
      >>> cfg = ShokriConfig(shadow=ShadowConfig(model=model, num_shadows=10))
      >>> res = shokri_attack(key, oracle, ShokriData(x_pool, y_pool, x, y), cfg)
      >>> jaxpriv.metrics.precision(res.predictions, truth)
    """
    num_classes = config.shadow.model.num_classes
    oracle = _common.as_oracle(target, num_features=config.shadow.model.num_features)
    oracle.require(PROBABILITIES, TOPK, LABEL, attack="shokri_attack")
    sx, sy = _common.check_records(data.shadow_x, data.shadow_y, num_classes,
                                   names=("data.shadow_x", "data.shadow_y"))
    x, y = _common.check_records(data.x, data.y, num_classes, names=("data.x", "data.y"))
    if sx.shape[1] != config.shadow.model.num_features or x.shape[1] != sx.shape[1]:
        raise ValueError(f"Expected data.shadow_x and data.x with "
                         f"{config.shadow.model.num_features} columns; got {sx.shape} and {x.shape}.")
    oracle.reserve(x.shape[0])
    k_shadow, k_set, k_attack = jax.random.split(key, 3)
    if shadows is None:
        shadows = train_shadows(k_shadow, sx, sy, config.shadow)
    aset = attack_set(k_set, shadows, config.shadow.model.apply, sx, sy, num_classes,
                      defenses=oracle.defenses, features=config.features)
    models = train_attack_models(k_attack, aset, num_classes, config)
    before = oracle.queries
    outputs = oracle.query(x)
    scores = attack_scores(models, featurize(outputs, num_classes, config.features), y)
    return ShokriResult(scores, scores >= config.threshold, oracle.queries - before,
                        models.train_accuracy)
