"""MI-Face (Fredrikson, Jha, Ristenpart, CCS 2015) against ART's ``MIFace``.

Work (issue 3): invert 40 labels of an AT&T-sized target (10,304 inputs,
40 classes), on the same weights, step size and iteration count:

* ``mi_face/softmax``: softmax regression. Peer: ART 1.20.1 ``MIFace`` over its
  ``ScikitlearnLogisticRegression`` wrapper of a scikit-learn
  ``LogisticRegression`` holding the same weights.
* ``mi_face/mlp``: one hidden layer of 3000 sigmoid units (the paper's MLP).
  Peer: ART ``MIFace`` over its ``PyTorchClassifier`` wrapper of the same
  network in PyTorch (CPU), whose output is ``log_softmax`` (ART climbs the
  gradient of the model's output).

What is matched, and why: ART's scikit-learn wrapper climbs ``log p`` (its
``class_gradient`` is ``w_c - sum_k p_k w_k``), its stop test is inverted (it
continues exactly when Algorithm 1 says stop) and it returns the last iterate.
So both sides run a fixed number of steps of ``x <- clip(x + lr * grad log p,
0, 1)`` from ``x_0 = 0``: jaxpriv with ``cost="neg_log_p"``, ``beta=0`` (no
stall test), ``gamma=2`` (never confident), ``select="last"``; ART with a
threshold no cost can exceed (every label stays active for ``max_iter``
steps). ART runs one label at a time (its default ``batch_size=1``); jaxpriv
runs all 40 in one compiled program. The script checks that both give the same
reconstructions (max absolute difference reported; ART mixes float64
gradients into float32 iterates, so equal up to ~1e-5).

What bounds the ratio: ART's one-label steps are matrix-vector products that
stream the weights from memory, while all labels together make matrix products
bound by arithmetic. So the script also measures this machine's float32 matmul
throughput (best of probes before and after the cases) and reports, per case,
the FLOPs the attack needs (``2 * alpha + 1`` dense products per label and
layer: a forward and an input gradient per step, and the last iterate's
forward; weights need no gradient), jaxpriv's share of that throughput, and
``ceiling_ratio``: ART's time over the time of that arithmetic at 100% of the
probe, the ratio no implementation of the same work could beat on this
machine.

Steady-state times exclude compilation (warm-up call; ``compile_seconds``).
Run ``python benchmarks/bench_mi_face.py [--smoke] [--json PATH]``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

from jaxpriv import models  # noqa: E402
from jaxpriv.attacks import MIFaceConfig, mi_face  # noqa: E402

FULL = dict(d=10304, c=40, hidden=3000, softmax_iters=1000, mlp_iters=50, lr=0.1)
SMOKE = dict(d=64, c=10, hidden=32, softmax_iters=20, mlp_iters=5, lr=0.1)


def _dense_flops(widths, labels, iters):
    """FLOPs of MI-Face's dense products: ``2 * iters + 1`` per label and layer
    (a forward and an input gradient per step, then the last iterate's forward)."""
    per = sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
    return float(labels * (2 * iters + 1) * per)


def _probe():
    return _common.matmul_peak_gflops()


def _config(d, iters, lr):
    return MIFaceConfig(num_features=d, alpha=iters, beta=0, gamma=2.0, learning_rate=lr,
                        cost="neg_log_p", process="clip", select="last")


def softmax_case(p, rng):
    from art.attacks.inference.model_inversion import MIFace
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression
    from sklearn.linear_model import LogisticRegression

    d, c = p["d"], p["c"]
    w = (rng.standard_normal((c, d)) * 0.02).astype(np.float64)
    b = (rng.standard_normal(c) * 0.1).astype(np.float64)
    clf = LogisticRegression()
    clf.coef_, clf.intercept_, clf.classes_ = w, b, np.arange(c)
    clf.n_features_in_ = d
    model = models.make_model("softmax", num_features=d, num_classes=c)
    params = {"linear": {"kernel": jnp.asarray(w.T, jnp.float32),
                         "bias": jnp.asarray(b, jnp.float32)}}
    cfg = _config(d, p["softmax_iters"], p["lr"])
    labels = jnp.arange(c)
    ours = _common.time_call(lambda: mi_face(jax.random.key(0), (model.apply, params), labels,
                                             cfg).x, repeats=3)
    x_ours = np.asarray(mi_face(jax.random.key(0), (model.apply, params), labels, cfg).x)

    est = ScikitlearnLogisticRegression(clf, clip_values=(0.0, 1.0))
    attack = MIFace(est, max_iter=p["softmax_iters"], window_length=1, threshold=1e9,
                    learning_rate=p["lr"], batch_size=1, verbose=False)
    t0 = time.perf_counter()
    x_art = attack.infer(None, y=np.arange(c))
    art_s = time.perf_counter() - t0
    return ours, art_s, x_ours, np.asarray(x_art).reshape(c, d)


def mlp_case(p, rng):
    import torch
    from art.attacks.inference.model_inversion import MIFace
    from art.estimators.classification import PyTorchClassifier

    d, c, h = p["d"], p["c"], p["hidden"]
    w1 = (rng.standard_normal((h, d)) / np.sqrt(d)).astype(np.float32)
    b1 = np.zeros(h, np.float32)
    w2 = (rng.standard_normal((c, h)) / np.sqrt(h) * 4).astype(np.float32)
    b2 = np.zeros(c, np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Sigmoid(),
                              torch.nn.Linear(h, c), torch.nn.LogSoftmax(dim=-1))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(w1))
        net[0].bias.copy_(torch.from_numpy(b1))
        net[2].weight.copy_(torch.from_numpy(w2))
        net[2].bias.copy_(torch.from_numpy(b2))
    for q in net.parameters():  # ART needs input gradients only: the peer's fastest setting
        q.requires_grad_(False)
    model = models.make_model("mlp", num_features=d, num_classes=c, hidden=(h,),
                              activation="sigmoid")
    params = {"hidden_0": {"kernel": jnp.asarray(w1.T), "bias": jnp.asarray(b1)},
              "out": {"kernel": jnp.asarray(w2.T), "bias": jnp.asarray(b2)}}
    cfg = _config(d, p["mlp_iters"], p["lr"])
    labels = jnp.arange(c)
    ours = _common.time_call(lambda: mi_face(jax.random.key(0), (model.apply, params), labels,
                                             cfg).x, repeats=3)
    x_ours = np.asarray(mi_face(jax.random.key(0), (model.apply, params), labels, cfg).x)

    est = PyTorchClassifier(net, loss=torch.nn.NLLLoss(), input_shape=(d,), nb_classes=c,
                            clip_values=(0.0, 1.0), device_type="cpu")
    attack = MIFace(est, max_iter=p["mlp_iters"], window_length=1, threshold=1e9,
                    learning_rate=p["lr"], batch_size=1, verbose=False)
    t0 = time.perf_counter()
    x_art = attack.infer(None, y=np.arange(c))
    art_s = time.perf_counter() - t0
    return ours, art_s, x_ours, np.asarray(x_art).reshape(c, d)


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    p = SMOKE if args.smoke else FULL
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    probes = [_probe()]
    results = []
    for name, case, iters, widths in (
            ("softmax", softmax_case, p["softmax_iters"], [p["d"], p["c"]]),
            ("mlp", mlp_case, p["mlp_iters"], [p["d"], p["hidden"], p["c"]])):
        results.append((name, iters, widths) + case(p, rng))
    probes.append(_probe())
    peak = max(probes)
    records = []
    for name, iters, widths, ours, art_s, x_ours, x_art in results:
        diff = float(np.max(np.abs(x_ours - x_art)))
        flops = _dense_flops(widths, p["c"], iters)
        floor_s = flops / peak / 1e9
        records.append(_common.record(
            f"mi_face/{name}", ours.seconds, "art", art_s,
            compile_seconds=ours.compile_seconds, labels=p["c"], features=p["d"],
            iterations=iters, learning_rate=p["lr"], max_abs_diff_vs_art=diff,
            same_reconstructions=bool(diff < 1e-3), gflop=flops / 1e9,
            gflops=flops / ours.seconds / 1e9, matmul_gflops=peak, matmul_gflops_probes=probes,
            roofline_share=floor_s / ours.seconds, ceiling_ratio=art_s / floor_s,
            matched="cost -log p, fixed iterations (no stop rule), clip [0,1], last iterate, "
                    "same weights and step size; ART one label at a time (batch_size=1)",
            **_common.peak_memory_mb()))
        print(f"{name}: max |x_jaxpriv - x_art| = {diff:.2e} over {p['c']} labels x "
              f"{p['d']} features after {iters} steps; {flops / ours.seconds / 1e9:.0f} GFLOP/s "
              f"= {100 * floor_s / ours.seconds:.0f}% of matmul {peak:.0f} GFLOP/s; at 100% "
              f"the ratio would be {art_s / floor_s:.1f}x")
    _common.finish(records, args.json)
    return records


if __name__ == "__main__":
    main()
