"""DP-SGD's gradient: per-example norms for the first layer against per-example gradients.

Record ``dpsgd/faces_mlp`` (baseline ``per_example_jax``): K = 4 DP-SGD runs
(noise multipliers 0.5, 1, 2, 4; clip norm 1; Poisson batches of 32 of the
200 AT&T-faces members; SGD with momentum) of the 10,304 -> 256 tanh -> 40
MLP, trained as one vmapped program by ``dp_sgd_many``'s trainer (a) with
``dp_grad_fn_for(model)``, which clips the first kernel's per-example
gradients ``x_i delta_i^T`` through their norms ``|x_i| |delta_i|`` and sums
them as one matmul, and (b) with ``dp_grad_fn(model.apply)``, the textbook
``vmap(grad)`` per-example gradients of every parameter, clipped and summed
(what TF Privacy's and Opacus's plain paths do). Same keys, same batches,
same noise: the record carries the largest parameter difference between the
two. Compile time apart; steady state the best of 2 alternating calls of each
side (``_common.time_pair``). Needs ``JAXPRIV_DATA`` (else the digits, 64 -> 256 -> 10).
``--smoke``: the digits, a 64 -> 16 -> 10 MLP, K = 2, 5 steps.

    python benchmarks/bench_dpsgd.py [--smoke] [--json PATH]
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

from jaxpriv import data, models  # noqa: E402
from jaxpriv.defenses import DPSGDConfig, _dpsgd, _trainer  # noqa: E402

FULL = dict(hidden=256, steps=30, sigmas=(0.5, 1.0, 2.0, 4.0), members=200, repeats=2)
SMOKE = dict(hidden=16, steps=5, sigmas=(0.5, 2.0), members=200, repeats=1)


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    p = SMOKE if args.smoke else FULL
    faces = bool(os.environ.get("JAXPRIV_DATA")) and not args.smoke
    ds = data.load("att_faces" if faces else "digits")
    idx = np.asarray(jax.random.permutation(jax.random.key(0), len(ds)))[:p["members"]]
    x, y = ds.x[idx].astype(np.float32), ds.y[idx]
    model = models.make_model("mlp", num_features=ds.num_features, num_classes=ds.num_classes,
                              hidden=(p["hidden"],), activation="tanh")
    k = len(p["sigmas"])
    cfg = DPSGDConfig(steps=p["steps"], batch_size=32, optimizer="momentum",
                      steps_per_call=p["steps"]).step_config()
    hyper = _trainer.as_hyper(k, noise_multiplier=list(p["sigmas"]), clip_norm=1.0,
                              learning_rate=0.05, l2=0.0)
    keys = jax.random.split(jax.random.key(1), k)
    fast_fn, slow_fn = _dpsgd.dp_grad_fn_for(model), _dpsgd.dp_grad_fn(model.apply)

    def train(fn):
        return _trainer.train_many(keys, jax.random.key(2), model.init, fn, x, y, cfg, hyper)

    out = {}

    def timed_train(name, fn):  # keeps the last models of each side for the comparison
        def call():
            out[name] = train(fn)
            return out[name]
        return call

    # Both warmed up (compiled), then alternating; the best of each (a shared, noisy machine).
    t_fast, t_slow = _common.time_pair(timed_train("fast", fast_fn), timed_train("slow", slow_fn),
                                       repeats=p["repeats"])
    fast, slow = out["fast"], out["slow"]
    diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in
               zip(jax.tree_util.tree_leaves(fast[0]), jax.tree_util.tree_leaves(slow[0])))
    rec = _common.record(
        "dpsgd/faces_mlp" if faces else "dpsgd/digits_mlp", t_fast.seconds, "per_example_jax",
        t_slow.seconds, compile_seconds=t_fast.compile_seconds,
        baseline_compile_seconds=t_slow.compile_seconds,
        dataset=ds.name, features=ds.num_features, hidden=p["hidden"], models=k,
        steps=p["steps"], batch_size=32, sampling="poisson", max_param_diff=diff,
        **_common.peak_memory_mb())
    print(f"{rec['name']}: {k} DP-SGD runs x {p['steps']} steps; largest parameter difference "
          f"between the two gradients {diff:.1e}")
    _common.finish([rec], args.json)
    return [rec]


if __name__ == "__main__":
    main()
