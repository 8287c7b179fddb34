"""Batched evasion attacks vs a per-example loop and vs ART, on the same digits MLP.

Cases (records ``evasion/<attack>``, each with baselines ``numpy_loop`` and ``art``):

* ``fgsm``: L-inf eps 0.1 on every test input.
* ``pgd_linf``: L-inf eps 0.1, 40 steps, random start, on every test input.
* ``pgd_l2``: L2 eps 1.0, 40 steps.
* ``cw_l2``: Carlini-Wagner L2, every input against each of the other 9 labels.

jaxpriv runs all items as one compiled call (compile time reported apart).
``numpy_loop`` runs the same per-item JAX function, jitted once, in a Python
loop over items (the shape of a paper's reference code). ``art`` runs IBM ART's
``FastGradientMethod`` / ``ProjectedGradientDescent`` / ``CarliniL2Method`` on a
PyTorch copy of the same network (same weights, same standardisation). Every
side is timed in steady state: jaxpriv after compiling, the loop after its
one compile, ART after a warm-up call (FGSM and PGD best of 3; Carlini-Wagner,
minutes per ART call, once).

Run: ``python benchmarks/bench_evasion.py [--smoke] [--json PATH] [--cases A,B]``.
"""

from __future__ import annotations

import functools
import sys
import warnings

import _common
import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv.attacks import evasion
from jaxpriv.attacks.evasion import _cw, _gradient
from jaxpriv.experiments.suite_evasion import digits_target


def _torch_copy(params):
    """The standardised MLP as a torch module (same weights)."""
    import torch

    net = params["net"]
    layers = sorted(k for k in net if k.startswith("hidden_"))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
            self.register_buffer("mean", t(params["mean"]))
            self.register_buffer("std", t(params["std"]))
            self.hidden = torch.nn.ModuleList()
            for name in layers + ["out"]:
                lin = torch.nn.Linear(*np.asarray(net[name]["kernel"]).shape)
                with torch.no_grad():
                    lin.weight.copy_(t(net[name]["kernel"]).T)
                    lin.bias.copy_(t(net[name]["bias"]))
                self.hidden.append(lin)

        def forward(self, x):
            x = (x - self.mean) / self.std
            for lin in self.hidden[:-1]:
                x = torch.relu(lin(x))
            return self.hidden[-1](x)

    return Net()


def _art_classifier(params):
    import torch
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(_torch_copy(params), loss=torch.nn.CrossEntropyLoss(),
                             input_shape=(64,), nb_classes=10, clip_values=(0.0, 1.0),
                             device_type="cpu")


def _loop(one, key, x, goal):
    """Per-item loop over the jitted single-item attack."""
    keys = jax.random.split(key, x.shape[0])
    return jnp.stack([one(keys[i], x[i], goal[i]) for i in range(x.shape[0])])


def main(argv=None) -> int:
    args = _common.parse_args("Evasion attacks: batched jaxpriv vs per-example loop vs ART.",
                              argv, cases=("fgsm", "pgd_linf", "pgd_l2", "cw_l2"))
    warnings.filterwarnings("ignore")
    smoke = args.smoke
    apply_fn, params, _, test = digits_target(jax.random.key(0), hidden=(64,),
                                              epochs=1 if smoke else 30)
    n = 8 if smoke else len(test)
    n_cw = 1 if smoke else 10
    steps = 3 if smoke else 40
    cw_cfg = evasion.CWConfig(steps=5 if smoke else 100, search_steps=1 if smoke else 6)
    x, y = test.x[:n], test.y[:n]
    wb = (apply_fn, params)
    key = jax.random.key(1)
    if smoke:  # Tiny work: spare the shared cores torch's spinning thread pool.
        import torch

        torch.set_num_threads(1)
    clf = _art_classifier(params)
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent

    records = []
    reps = 1 if smoke else 3

    def grad_fn(_, xa, g):
        return jax.grad(lambda z: _gradient.objective(apply_fn(params, z[None])[0], g,
                                                      "cross_entropy", False))(xa)

    cases = [
        ("fgsm", evasion.fgsm, evasion.FGSMConfig(eps=0.1),
         dict(norm="linf", steps=1, random_start=False), 0.1, 0.1,
         lambda: FastGradientMethod(clf, norm=np.inf, eps=0.1, batch_size=n)),
        ("pgd_linf", evasion.pgd, evasion.PGDConfig(eps=0.1, steps=steps),
         dict(norm="linf", steps=steps, random_start=True), 0.1, 2.5 * 0.1 / steps,
         lambda: ProjectedGradientDescent(clf, norm=np.inf, eps=0.1, eps_step=2.5 * 0.1 / steps,
                                          max_iter=steps, num_random_init=1, batch_size=n,
                                          verbose=False)),
        ("pgd_l2", evasion.pgd, evasion.PGDConfig(norm="l2", eps=1.0, steps=steps),
         dict(norm="l2", steps=steps, random_start=True), 1.0, 2.5 * 1.0 / steps,
         lambda: ProjectedGradientDescent(clf, norm=2, eps=1.0, eps_step=2.5 * 1.0 / steps,
                                          max_iter=steps, num_random_init=1, batch_size=n,
                                          verbose=False)),
    ]
    d = evasion.EvasionData(x, y)
    for name, fn, cfg, kw, eps, step, make_art in cases:
        if name not in args.cases:
            continue
        ours = _common.time_call(lambda: fn(key, wb, d, cfg).x_adv, repeats=reps)
        res = fn(key, wb, d, cfg)
        one = jax.jit(functools.partial(_gradient.pgd_one, grad_fn, eps=jnp.float32(eps),
                                        step=jnp.float32(step), clip=(0.0, 1.0), **kw))
        loop = _common.time_call(lambda: _loop(one, key, jnp.asarray(x), jnp.asarray(y)),
                                 repeats=1)
        attack = make_art()
        art_t = _common.time_call(lambda: attack.generate(x, y=y), repeats=reps)
        x_art = attack.generate(x, y=y)
        art_success = float(np.mean(clf.predict(x_art).argmax(1) != y))
        extra = dict(compile_seconds=ours.compile_seconds, items=n,
                     success_rate=float(np.mean(res.success)))
        records.append(_common.record(f"evasion/{name}", ours.seconds, "numpy_loop",
                                      loop.seconds, **extra))
        records.append(_common.record(f"evasion/{name}", ours.seconds, "art", art_t.seconds,
                                      art_success_rate=art_success, **extra))

    if "cw_l2" in args.cases:
        records += _cw_case(key, wb, x, y, n_cw, cw_cfg, reps, apply_fn, params, clf)
    for r in records:
        r.update(_common.peak_memory_mb())
    _common.finish(records, args.json)
    return 0


def _cw_case(key, wb, x, y, n_cw, cw_cfg, reps, apply_fn, params, clf):
    """Carlini-Wagner L2: every input against every other label."""
    from art.attacks.evasion import CarliniL2Method

    records = []
    targets = evasion.all_targets(y[:n_cw], 10)
    dt = evasion.EvasionData(x[:n_cw], y[:n_cw], targets)
    ours = _common.time_call(lambda: evasion.carlini_wagner_l2(key, wb, dt, cw_cfg).x_adv,
                            repeats=reps)
    res = evasion.carlini_wagner_l2(key, wb, dt, cw_cfg)
    items_x = jnp.asarray(np.repeat(x[:n_cw], 9, axis=0))
    items_t = jnp.asarray(targets.reshape(-1))
    one = jax.jit(lambda xi, ti: _cw._cw_one(
        apply_fn, params, xi, ti, jnp.float32(cw_cfg.learning_rate),
        jnp.float32(cw_cfg.initial_const), jnp.float32(cw_cfg.confidence),
        steps=cw_cfg.steps, search_steps=cw_cfg.search_steps, clip=cw_cfg.clip)[0])
    loop = _common.time_call(lambda: jnp.stack([one(items_x[i], items_t[i])
                                                for i in range(items_x.shape[0])]), repeats=1)
    attack = CarliniL2Method(clf, confidence=0.0, targeted=True,
                             learning_rate=cw_cfg.learning_rate,
                             binary_search_steps=cw_cfg.search_steps, max_iter=cw_cfg.steps,
                             initial_const=cw_cfg.initial_const, batch_size=items_x.shape[0],
                             verbose=False)
    onehot = np.eye(10, dtype=np.float32)[np.asarray(items_t)]
    xi = np.asarray(items_x)
    art_t = _common.time_call(lambda: attack.generate(xi, y=onehot), repeats=1, warmup=False)
    x_art = attack.generate(xi, y=onehot)
    art_success = float(np.mean(clf.predict(x_art).argmax(1) == np.asarray(items_t)))
    extra = dict(compile_seconds=ours.compile_seconds, items=int(items_x.shape[0]),
                 success_rate=float(np.mean(res.success)),
                 l2_median=float(np.median(np.asarray(res.l2)[np.asarray(res.success)]))
                 if np.any(res.success) else None)
    records.append(_common.record("evasion/cw_l2", ours.seconds, "numpy_loop", loop.seconds,
                                  **extra))
    ok = clf.predict(x_art).argmax(1) == np.asarray(items_t)
    records.append(_common.record(
        "evasion/cw_l2", ours.seconds, "art", art_t.seconds, art_success_rate=art_success,
        art_l2_median=float(np.median(np.linalg.norm((x_art - xi)[ok], axis=1)))
        if ok.any() else None, **extra))
    return records


if __name__ == "__main__":
    sys.exit(main())
