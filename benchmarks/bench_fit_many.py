"""fit_many against sequential jitted fits, a scikit-learn loop and the matmul roofline.

Two regimes (issue 2, item 10):

* ``fit_many/purchase``: K = 32 models 600 -> 128 tanh -> 100 on Purchase-sized
  data (2,500 records, 600 binary features, 100 classes), minibatch 250,
  50 epochs, Adam. Purchase-100 itself is not available offline, so the data
  are synthetic and Purchase-like: 100 class prototypes of Bernoulli rates,
  each record drawn from its class's prototype (binary, learnable, the same
  shapes as Shokri et al.'s Purchase-100).
* ``fit_many/tiny``: K = 64 models 64 -> 32 relu -> 10 on scikit-learn's digits
  (1,797 records), minibatch 32, 20 epochs, Adam.

Baselines, all on the same work in this process:

* ``sequential_jax``: a plain jitted per-model trainer (the same flax model,
  optax Adam, an epoch as a ``lax.scan``), compiled once and run K times;
* ``sklearn``: K fits of ``MLPClassifier`` of the same size, optimizer, batch
  size and epochs (no early stopping, ``tol=0``, ``alpha=0`` as in fit_many);
* ``matmul_roofline``: this machine's float32 matmul throughput (jitted square
  products, best of 512 and 1024 on a CPU, of 1024 to 8192 on an accelerator,
  see ``_common.matmul_peak_gflops``), measured in the same
  run before and after each case (best probe kept: conservative for the share).
  ``ratio`` of that record is fit_many's achieved GFLOP/s over the probe's.

FLOPs are counted honestly: per model and data row, the forward matmuls
(``2 * sum(in * out)``), the weight gradients (the same again) and the input
gradients of every layer but the first (``2 * in * out`` each); padded rows
of a last partial minibatch are not counted; elementwise work is not counted.

Run ``python benchmarks/bench_fit_many.py [--smoke] [--json PATH]``.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

from jaxpriv import data, models, training  # noqa: E402

FULL = {
    "purchase": dict(k=32, n=2500, d=600, hidden=128, c=100, activation="tanh",
                     batch=250, epochs=50, lr=1e-3),
    "tiny": dict(k=64, n=None, d=64, hidden=32, c=10, activation="relu",
                 batch=32, epochs=20, lr=1e-3),
}
SMOKE = {
    "purchase": dict(k=4, n=200, d=60, hidden=16, c=10, activation="tanh",
                     batch=50, epochs=2, lr=1e-3),
    "tiny": dict(k=4, n=300, d=64, hidden=8, c=10, activation="relu",
                 batch=32, epochs=2, lr=1e-3),
}


def purchase_like(n: int, d: int, c: int, seed: int = 0):
    """Synthetic Purchase-like data: binary ``x [n, d]``, labels ``y [n]`` in ``[0, c)``."""
    rng = np.random.default_rng(seed)
    protos = rng.beta(0.5, 2.0, size=(c, d))          # sparse-ish purchase rates per class
    y = rng.integers(0, c, size=n).astype(np.int32)
    x = (rng.random((n, d)) < protos[y]).astype(np.float32)
    return x, y


def digits(n: int | None):
    ds = data.load_digits()
    x, y = np.asarray(ds.x, np.float32), np.asarray(ds.y, np.int32)
    return (x, y) if n is None else (x[:n], y[:n])


def matmul_flops(n_rows: int, widths: list[int], epochs: int, k: int) -> float:
    """Forward + backward matmul FLOPs of training K dense stacks on ``n_rows`` rows."""
    layers = list(zip(widths[:-1], widths[1:]))
    per_row = sum(4 * i * o for i, o in layers) + sum(2 * i * o for i, o in layers[1:])
    return float(per_row) * n_rows * epochs * k


def sequential_trainer(model, cfg: dict, n: int):
    """A plain jitted one-model trainer: epochs as a scan over minibatch scans."""
    tx = optax.adam(cfg["lr"])
    bs = cfg["batch"]
    nb = math.ceil(n / bs)

    def loss_fn(p, xb, yb, wb):
        per = optax.softmax_cross_entropy_with_integer_labels(model.apply(p, xb), yb)
        return jnp.sum(per * wb) / jnp.sum(wb)

    @jax.jit
    def train(key, x, y):
        params = model.init(jax.random.fold_in(key, 0), x[:1])

        def epoch(carry, e):
            perm = jnp.argsort(jax.random.uniform(jax.random.fold_in(key, e), (n,)))
            idx = jnp.concatenate([perm, perm[:nb * bs - n]]).reshape(nb, bs)
            w = (jnp.arange(nb * bs) < n).astype(jnp.float32).reshape(nb, bs)

            def step(c, b):
                p, o = c
                i, wb = b
                g = jax.grad(loss_fn)(p, x[i], y[i], wb)
                u, o = tx.update(g, o, p)
                return (optax.apply_updates(p, u), o), None

            return jax.lax.scan(step, carry, (idx, w))[0], None

        carry = (params, tx.init(params))
        return jax.lax.scan(epoch, carry, jnp.arange(cfg["epochs"]))[0][0]

    return train


def sklearn_fit(cfg: dict, x, y, seed: int):
    clf = MLPClassifier(hidden_layer_sizes=(cfg["hidden"],), activation=cfg["activation"],
                        solver="adam", alpha=0.0, batch_size=cfg["batch"],
                        learning_rate_init=cfg["lr"], max_iter=cfg["epochs"], shuffle=True,
                        tol=0.0, n_iter_no_change=10 ** 9, early_stopping=False,
                        random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    assert clf.n_iter_ == cfg["epochs"], clf.n_iter_
    return clf


def run_case(name: str, cfg: dict, repeats: int, sklearn_models: int | None = None
             ) -> list[dict]:
    x, y = purchase_like(cfg["n"], cfg["d"], cfg["c"]) if name == "purchase" else digits(cfg["n"])
    n, k = x.shape[0], cfg["k"]
    model = models.make_model("mlp", num_features=cfg["d"], num_classes=cfg["c"],
                              hidden=(cfg["hidden"],), activation=cfg["activation"])
    tc = training.TrainConfig(epochs=cfg["epochs"], batch_size=cfg["batch"], optimizer="adam")
    hyper = training.Hyper(learning_rate=cfg["lr"])
    keys = jax.random.split(jax.random.key(0), k)
    flops = matmul_flops(n, [cfg["d"], cfg["hidden"], cfg["c"]], cfg["epochs"], k)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    probes = [_common.matmul_peak_gflops()]

    # fit_many: first call compiles; steady state is the best of the next calls.
    t_many = _common.time_call(lambda: training.fit_many(keys, model, x, y, tc, hyper)[0],
                               repeats=repeats)
    params = training.fit_many(keys, model, x, y, tc, hyper)[0]
    acc_many = float(np.mean(training.accuracy_many(model.apply, params, x, y)))

    # Sequential jitted loop over the K models (compiled once, warm-up excluded).
    train_one = sequential_trainer(model, cfg, n)

    def sequential():
        return [train_one(keys[i], xj, yj) for i in range(k)]

    t_seq = _common.time_call(sequential, repeats=max(1, repeats - 1))
    seq_params = jax.tree_util.tree_map(lambda *p: jnp.stack(p), *sequential())
    acc_seq = float(np.mean(training.accuracy_many(model.apply, seq_params, x, y)))

    # scikit-learn loop (no compilation; one timed pass over the K models, or
    # over the first ``sklearn_models`` of them, scaled to K).
    k_skl = k if sklearn_models is None else min(k, sklearn_models)
    t0 = time.perf_counter()
    clfs = [sklearn_fit(cfg, x, y, seed=i) for i in range(k_skl)]
    t_skl = (time.perf_counter() - t0) * k / k_skl
    acc_skl = float(np.mean([c.score(x, y) for c in clfs]))

    probes.append(_common.matmul_peak_gflops())
    peak = max(probes)
    gflops = flops / t_many.seconds / 1e9
    common = dict(models=k, rows=n, epochs=cfg["epochs"], batch_size=cfg["batch"],
                  widths=[cfg["d"], cfg["hidden"], cfg["c"]], activation=cfg["activation"],
                  gflop=flops / 1e9, gflops=gflops, matmul_gflops=peak,
                  matmul_gflops_probes=probes, roofline_share=gflops / peak,
                  sequential_roofline_share=flops / t_seq.seconds / 1e9 / peak,
                  sklearn_roofline_share=flops / t_skl / 1e9 / peak,
                  compile_seconds=t_many.compile_seconds,
                  sequential_compile_seconds=t_seq.compile_seconds,
                  train_accuracy=acc_many, sequential_train_accuracy=acc_seq,
                  sklearn_train_accuracy=acc_skl, sklearn_models_timed=k_skl,
                  data="synthetic Purchase-like" if name == "purchase" else "digits")
    bench = f"fit_many/{name}"
    return [
        _common.record(bench, t_many.seconds, "sequential_jax", t_seq.seconds, **common),
        _common.record(bench, t_many.seconds, "sklearn", t_skl, **common),
        _common.record(bench, t_many.seconds, "matmul_roofline", flops / peak / 1e9, **common),
    ]


def main(argv=None) -> list[dict]:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes (< 15 s), used by tests")
    p.add_argument("--json", metavar="PATH", default=None, help="write the records here")
    p.add_argument("--cases", default="purchase,tiny", help="comma-separated cases to run")
    p.add_argument("--sklearn-models", type=int, default=None,
                   help="time this many scikit-learn fits and scale to K (default: all K)")
    args = p.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    sizes = {c: sizes[c] for c in args.cases.split(",")}
    repeats = 1 if args.smoke else 3
    records = []
    for name, cfg in sizes.items():
        recs = run_case(name, cfg, repeats, args.sklearn_models)
        r = recs[0]
        print(f"{r['name']}: {r['gflops']:.1f} GFLOP/s = {100 * r['roofline_share']:.0f}% of"
              f" matmul {r['matmul_gflops']:.0f} GFLOP/s (sequential"
              f" {100 * r['sequential_roofline_share']:.0f}%, sklearn"
              f" {100 * r['sklearn_roofline_share']:.0f}%); compile {r['compile_seconds']:.1f} s;"
              f" train accuracy {r['train_accuracy']:.3f} / {r['sequential_train_accuracy']:.3f}"
              f" / {r['sklearn_train_accuracy']:.3f}", flush=True)
        records += recs
    _common.finish(records, args.json)
    print(_common.peak_memory_mb())
    return records


if __name__ == "__main__":
    main()
