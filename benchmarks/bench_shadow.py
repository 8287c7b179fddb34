"""Shadow-model membership inference against ART, a sequential JAX loop and NumPy.

Work (issue 5), on Purchase-like data (Purchase-100 is not available offline:
100 class prototypes of Bernoulli rates over 600 binary features, records
drawn from their class's prototype, the shapes of Shokri et al.'s Purchase):

* ``shadow/pipeline``: the whole Shokri attack with K = 32 shadow models
  (600 -> 128 tanh -> 100, Adam, 50 epochs, minibatch 128) on an attacker
  pool of 2,500 records, each shadow trained on a random half of it (ART's
  ``disjoint_datasets=False`` with ``member_ratio=0.5``; jaxpriv's
  ``sampling="overlapping"``): shadow training, the attack training set,
  the attack models and inference on 2,000 target records (half members).
  Peer: ART's ``ShadowModels`` over a scikit-learn ``MLPClassifier`` of the
  same size, optimiser, batch size and epochs, then
  ``MembershipInferenceBlackBox`` (its default neural-network attack model,
  trained for the same number of epochs as jaxpriv's per-class models).
* ``shadow/training``: shadow training alone (jaxpriv ``train_shadows`` =
  ``fit_many`` vmapped over 32 models) against ART's ``ShadowModels``
  (training and shadow predictions) and, as
  ``shadow/training_vs_sequential``, against 32 fits of one jitted
  single-model trainer (compiled once, run 32 times; the two timed
  alternately, best of 3 each).
* ``lira/scoring``: LiRA (online, per-example variances) with 64 shadow
  models over 20,000 records in one jitted pass, against a per-example NumPy
  implementation (a loop over records, SciPy Gaussians).

Steady-state times exclude compilation (a warm-up call; ``compile_seconds``
records it); ART and NumPy have nothing to compile. The pipeline is timed on
both sides alternately, best of 2 each. Peak host memory is
recorded with each record.

Run ``python benchmarks/bench_shadow.py [--smoke] [--json PATH]``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

from jaxpriv import metrics, models, training  # noqa: E402
from jaxpriv.attacks import membership as mia  # noqa: E402
from jaxpriv.oracles import Oracle  # noqa: E402

FULL = dict(k=32, n=2500, d=600, hidden=128, c=100, epochs=50, batch=128, lr=1e-3,
            attack_epochs=20, attack_lr=1e-2, n_query=1000, lira_k=64, lira_n=20000, art_attack="nn")
SMOKE = dict(k=4, n=200, d=40, hidden=16, c=5, epochs=2, batch=32, lr=1e-3,
             attack_epochs=2, attack_lr=1e-2, n_query=50, lira_k=8, lira_n=300, art_attack="rf")


def purchase_like(n: int, d: int, c: int, seed: int = 0):
    """Binary ``x [n, d]`` drawn from per-class Bernoulli prototypes; ``y [n]``."""
    rng = np.random.default_rng(seed)
    protos = rng.beta(0.5, 2.0, size=(c, d))
    y = rng.integers(0, c, size=n).astype(np.int32)
    x = (rng.random((n, d)) < protos[y]).astype(np.float32)
    return x, y


def _sk_mlp(cfg):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(cfg["hidden"],), activation="tanh", solver="adam",
                         learning_rate_init=cfg["lr"], batch_size=cfg["batch"],
                         max_iter=cfg["epochs"], tol=0.0, n_iter_no_change=10 ** 9, alpha=0.0,
                         shuffle=True, random_state=0)


def _art_classifier(model, cfg):
    from art.estimators.classification.scikitlearn import SklearnClassifier

    return SklearnClassifier(model, clip_values=(0.0, 1.0))


def _art_template(cfg, x, y):
    """ART clones a *fitted* classifier (it reads the class count), so the
    template is fitted on one row per class first (outside the timings)."""
    first = np.unique(y, return_index=True)[1]
    return _art_classifier(_sk_mlp(cfg).fit(x[first], y[first]), cfg)


def _data(cfg):
    x, y = purchase_like(2 * cfg["n"], cfg["d"], cfg["c"])
    pool = slice(0, cfg["n"])
    tgt = slice(cfg["n"], 2 * cfg["n"])
    return x[pool], y[pool], x[tgt], y[tgt]


def _ours_pipeline(cfg, model, tc, hyper, px, py, target_oracle, xq, yq, key):
    shadow = mia.ShadowConfig(model=model, num_shadows=cfg["k"], sampling="overlapping",
                              n_train=cfg["n"] // 2, train=tc, hyper=hyper)
    # The attack models get ART's 20 epochs; at the library's default step
    # (1e-3) 100 classes x ~800 rows each are undertrained there (AUC 0.72),
    # at 1e-2 they match ART's single attack network (AUC ~0.91 vs 0.92).
    sc = mia.ShokriConfig(shadow=shadow, attack_epochs=cfg["attack_epochs"],
                          attack_batch_size=cfg["batch"],
                          attack_learning_rate=cfg["attack_lr"])
    return mia.shokri_attack(key, target_oracle, mia.ShokriData(px, py, xq, yq), sc).scores


def _art_pipeline(cfg, template, px, py, art_target, xq, yq):
    from art.attacks.inference.membership_inference import (MembershipInferenceBlackBox,
                                                            ShadowModels)

    sm = ShadowModels(template, num_shadow_models=cfg["k"],
                      disjoint_datasets=False, random_state=0)
    onehot = np.eye(cfg["c"], dtype=np.float32)
    (mx, my, mp), (nx, ny, npred) = sm.generate_shadow_dataset(px, onehot[py], member_ratio=0.5)
    if cfg["art_attack"] == "nn":
        attack = MembershipInferenceBlackBox(art_target, attack_model_type="nn",
                                             nn_model_epochs=cfg["attack_epochs"],
                                             nn_model_batch_size=cfg["batch"])
    else:
        attack = MembershipInferenceBlackBox(art_target, attack_model_type=cfg["art_attack"])
    attack.fit(mx, my, nx, ny, mp, npred)
    return attack.infer(xq, onehot[yq], probabilities=True)


def _sequential_trainer(model, cfg):
    """One jitted single-model trainer over a member index list (compiled once)."""
    tx = optax.adam(cfg["lr"])
    m = cfg["n"] // 2
    nb = -(-m // cfg["batch"])
    pad = nb * cfg["batch"] - m

    @jax.jit
    def fit_one(key, x, y, rows):
        params = model.init(jax.random.fold_in(key, 0), x[:1])
        opt = tx.init(params)

        def loss(p, xb, yb, wb):
            per = optax.softmax_cross_entropy_with_integer_labels(model.apply(p, xb), yb)
            return jnp.sum(wb * per) / jnp.sum(wb)

        def epoch(carry, ek):
            perm = rows[jax.random.permutation(ek, m)]
            idx = jnp.concatenate([perm, perm[:pad]]).reshape(nb, cfg["batch"])
            w = jnp.concatenate([jnp.ones(m), jnp.zeros(pad)]).reshape(nb, cfg["batch"])

            def step(c, b):
                p, o = c
                i, wb = b
                g = jax.grad(loss)(p, x[i], y[i], wb)
                u, o = tx.update(g, o, p)
                return (optax.apply_updates(p, u), o), None

            return jax.lax.scan(step, carry, (idx, w))[0], None

        (params, _), _ = jax.lax.scan(epoch, (params, opt),
                                      jax.random.split(key, cfg["epochs"]))
        return params

    return fit_one


def _numpy_lira(target, phi, in_mask):
    from scipy import stats

    out = np.empty(phi.shape[1])
    for i in range(phi.shape[1]):
        a, b = phi[in_mask[:, i], i], phi[~in_mask[:, i], i]
        si, so = max(a.std(ddof=1), 1e-3), max(b.std(ddof=1), 1e-3)
        out[i] = stats.norm.logpdf(target[i], a.mean(), si) - stats.norm.logpdf(
            target[i], b.mean(), so)
    return out


def _say(msg: str) -> None:
    print(f"[bench_shadow {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    cfg = SMOKE if args.smoke else FULL
    warnings.filterwarnings("ignore")
    # Import the peer (ART, and the PyTorch its attack model uses) before any timing.
    # The smoke run uses ART's random-forest attack model (no PyTorch import).
    if not args.smoke:
        import torch  # noqa: F401
    from art.attacks.inference.membership_inference import (  # noqa: F401
        MembershipInferenceBlackBox, ShadowModels)
    records = []
    px, py, tx_, ty = _data(cfg)
    model = models.make_model("mlp", num_features=cfg["d"], num_classes=cfg["c"],
                              hidden=(cfg["hidden"],), activation="tanh")
    tc = training.TrainConfig(epochs=cfg["epochs"], batch_size=cfg["batch"])
    hyper = training.Hyper(learning_rate=cfg["lr"])
    # The target: trained on half of its own 2,500 records; the queries are
    # n_query of its members and n_query of the other half.
    half = cfg["n"] // 2
    tparams, _ = training.fit(jax.random.key(9), model, tx_[:half], ty[:half], tc, hyper)
    nq = min(cfg["n_query"], half)
    xq = np.concatenate([tx_[:nq], tx_[half:half + nq]])
    yq = np.concatenate([ty[:nq], ty[half:half + nq]])
    truth = np.arange(2 * nq) < nq
    oracle = Oracle.from_model(model.apply, tparams)
    sk_target = _sk_mlp(cfg).fit(tx_[:half], ty[:half])
    art_target = _art_classifier(sk_target, cfg)

    # (a) The whole pipeline.
    _say("pipeline: jaxpriv")
    key = jax.random.key(0)
    ours_fn = lambda: _ours_pipeline(cfg, model, tc, hyper, px, py, oracle, xq, yq, key)
    art_fn = lambda: np.asarray(_art_pipeline(cfg, _art_template(cfg, px, py), px, py,
                                              art_target, xq, yq)).reshape(-1)
    t0 = time.perf_counter()
    _common.block(ours_fn())  # warm-up: compilation
    first = time.perf_counter() - t0
    # Both sides timed alternately, best of 2 each (1 in the smoke run).
    t_ours, t_art = float("inf"), float("inf")
    for _ in range(1 if args.smoke else 2):
        t0 = time.perf_counter()
        s_ours = np.asarray(_common.block(ours_fn()))
        t_ours = min(t_ours, time.perf_counter() - t0)
        _say(f"pipeline: ART (jaxpriv steady state {t_ours:.2f} s)")
        t0 = time.perf_counter()
        s_art = art_fn()
        t_art = min(t_art, time.perf_counter() - t0)
    records.append(_common.record(
        "shadow/pipeline", t_ours, "art", t_art, compile_seconds=max(first - t_ours, 0.0),
        num_shadows=cfg["k"], epochs=cfg["epochs"],
        auc=metrics.roc_auc(s_ours[truth], s_ours[~truth]),
        baseline_auc=metrics.roc_auc(s_art[truth], s_art[~truth]), **_common.peak_memory_mb()))

    # (b) Shadow training alone.
    _say(f"training: jaxpriv (ART pipeline {t_art:.1f} s)")
    shadow = mia.ShadowConfig(model=model, num_shadows=cfg["k"], sampling="overlapping",
                              n_train=half, train=tc, hyper=hyper)
    ours_train = lambda: mia.train_shadows(key, px, py, shadow).params
    train = _common.time_call(ours_train, repeats=1)
    from art.attacks.inference.membership_inference import ShadowModels

    onehot = np.eye(cfg["c"], dtype=np.float32)
    sm = ShadowModels(_art_template(cfg, px, py), num_shadow_models=cfg["k"],
                      disjoint_datasets=False, random_state=0)
    _say("training: ART")
    t0 = time.perf_counter()
    sm.generate_shadow_dataset(px, onehot[py], member_ratio=0.5)
    t_art_train = time.perf_counter() - t0
    records.append(_common.record("shadow/training", train.seconds, "art", t_art_train,
                                  compile_seconds=train.compile_seconds, num_shadows=cfg["k"],
                                  **_common.peak_memory_mb()))
    _say("training: sequential jitted fits")
    fit_one = _sequential_trainer(model, cfg)
    in_mask, _ = mia.shadow_masks(key, cfg["n"], num_shadows=cfg["k"], sampling="overlapping",
                                  n_train=half)
    rows = [jnp.asarray(np.flatnonzero(r), jnp.int32) for r in in_mask]
    keys = jax.random.split(key, cfg["k"])
    pxj, pyj = jnp.asarray(px), jnp.asarray(py)
    # The same work on both sides, timed alternately (best of 3 each).
    train_b, seq = _common.time_pair(
        ours_train, lambda: [fit_one(keys[i], pxj, pyj, rows[i]) for i in range(cfg["k"])],
        repeats=1 if args.smoke else 3)
    records.append(_common.record("shadow/training_vs_sequential", train_b.seconds,
                                  "sequential_jax", seq.seconds,
                                  compile_seconds=train.compile_seconds,
                                  baseline_compile_seconds=seq.compile_seconds,
                                  num_shadows=cfg["k"], **_common.peak_memory_mb()))

    # (c) LiRA scoring.
    _say("lira scoring")
    rng = np.random.default_rng(0)
    k, n = cfg["lira_k"], cfg["lira_n"]
    lmask = np.argsort(np.argsort(rng.random((k, n)), axis=0), axis=0) < k // 2
    phi = (rng.normal(size=n)[None] * 3 + 2.0 * lmask + rng.normal(size=(k, n))).astype(np.float32)
    target = phi[0] + rng.normal(size=n).astype(np.float32) * 0.1
    lcfg = mia.LiraConfig(online=True)
    phi_j, mask_j, t_j = jnp.asarray(phi), jnp.asarray(lmask), jnp.asarray(target)
    lira = _common.time_call(lambda: mia.lira_scores(t_j, phi_j, mask_j, lcfg), repeats=5)
    t0 = time.perf_counter()
    ref = _numpy_lira(target.astype(np.float64), phi.astype(np.float64), lmask)
    t_np = time.perf_counter() - t0
    err = float(np.max(np.abs(np.asarray(mia.lira_scores(t_j, phi_j, mask_j, lcfg)) - ref)))
    records.append(_common.record("lira/scoring", lira.seconds, "numpy_loop", t_np,
                                  compile_seconds=lira.compile_seconds, num_shadows=k,
                                  records=n, max_abs_diff=err, **_common.peak_memory_mb()))
    _common.finish(records, args.json)


if __name__ == "__main__":
    main()
