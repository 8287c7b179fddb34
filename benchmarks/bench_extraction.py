"""Extraction solves (Tramèr et al. 2016) versus SciPy's L-BFGS on the same equations.

Each case queries an oracle once, then times our compiled query-and-solve
(``extract_lr`` / ``extract_newton``; compile time reported apart, steady
state the best of later calls with new keys: 10 for the millisecond
solves, 2 for the faces) against ``scipy.optimize.minimize
(method="L-BFGS-B")`` on the same system built from the same answers: the
log-ratio least squares ``1/2 |[x, 1] theta - log-ratios|^2`` for logistic
models, the same least squares on the MLP's centred logits for the MLP
(gradients by jitted ``jax.value_and_grad``). Both sides report their
fidelity (1 - R_test / 1 - R_unif).

Cases (full): binary LR on digits 0 vs 1 (65 unknowns), softmax on digits
(650), a 446-5-30 tanh MLP on Location (2,415 unknowns, 5 queries per
unknown; needs JAXPRIV_DATA; also times the Newton configuration it replaced,
uniform queries and the KL loss for 300 steps, in the same process) and the AT&T-faces softmax model (412,160
unknowns, 41,216 queries; needs JAXPRIV_DATA). ``--smoke``: small synthetic
version of the CG case (no data needed; ``--cases`` is for full runs).

  python benchmarks/bench_extraction.py [--smoke] [--json PATH] [--cases A,B]
"""

from __future__ import annotations

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

from jaxpriv import data, models, oracles, training  # noqa: E402
from jaxpriv.attacks import extraction as ex  # noqa: E402


def _agree(fa, fb, x):
    return float(np.mean(np.asarray(fa(x)).argmax(1) == np.asarray(fb(x)).argmax(1)))


def _lbfgs_logratio(x, logp, center, maxiter, dtype=np.float64):
    """L-BFGS on the centred log-ratio least squares (reference "mean"), NumPy
    (float32 products for the faces system, whose design is 1.7 GB in float32)."""
    xc = (x - center).astype(dtype)
    r = (logp - logp.mean(axis=1, keepdims=True)).astype(dtype)
    m, d = xc.shape
    c = r.shape[1]

    def fun(theta):
        t = theta.reshape(d + 1, c).astype(dtype)
        res = xc @ t[:d] + t[d] - r
        g = np.concatenate([xc.T @ res, res.sum(axis=0, keepdims=True)])
        return 0.5 * float(np.sum(res.astype(np.float64) ** 2)), g.ravel().astype(np.float64)

    out = scipy.optimize.minimize(fun, np.zeros((d + 1) * c), jac=True, method="L-BFGS-B",
                                  options={"maxiter": maxiter, "gtol": 1e-10, "ftol": 1e-16})
    t = out.x.reshape(d + 1, c)
    return {"w": t[:d], "b": t[d] - center @ t[:d]}, out.nit


def lr_case(name, apply_fn, params, num_classes, d, queries, x_test, *, solver="auto",
            x64=True, chunk=None, maxiter=15000):
    dom = ex.unit_domain(d)
    cfg = ex.LRConfig(num_classes=num_classes, queries=queries, solver=solver, x64=x64,
                      chunk_size=chunk, **({"cg_tol": 1e-5, "cg_maxiter": 40}
                                           if solver == "cg" else {}))
    oracle = oracles.Oracle.from_model(apply_fn, params)
    keys = iter(range(100))
    t = _common.time_call(
        lambda: ex.extract_lr(jax.random.key(next(keys)), oracle, dom, cfg).params,
        repeats=2 if chunk else 10)  # millisecond solves: best of 10 (a shared machine)
    res = ex.extract_lr(jax.random.key(0), oracle, dom, cfg)
    ours = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), res.params)
    # The baseline solves the same equations from the same answers.
    xq = np.asarray(ex.uniform_queries(jax.random.key(7), dom, queries))
    logp = np.log(np.asarray(oracle.query(xq), np.float64))
    base_s = np.inf
    for _ in range(1 if chunk else 5):  # SciPy has no compile: best of 5 where it is quick
        t0 = time.perf_counter()
        base, nit = _lbfgs_logratio(xq, logp, np.full(d, 0.5), maxiter,
                                    np.float64 if x64 else np.float32)
        base_s = min(base_s, time.perf_counter() - t0)
    del xq
    base = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), base)
    u = np.asarray(ex.uniform_queries(jax.random.key(9), dom, 10_000))
    target = lambda z: apply_fn(params, jnp.asarray(z))
    return _common.record(
        f"extraction/{name}", t.seconds, "scipy", base_s, compile_seconds=t.compile_seconds,
        unknowns=(d + 1) * num_classes, queries=queries, solver=cfg.solver,
        fidelity_test=_agree(target, lambda z: ex.linear_apply(ours, z), x_test),
        fidelity_unif=_agree(target, lambda z: ex.linear_apply(ours, z), u),
        scipy_fidelity_test=_agree(target, lambda z: ex.linear_apply(base, z), x_test),
        scipy_fidelity_unif=_agree(target, lambda z: ex.linear_apply(base, z), u),
        scipy_iterations=int(nit), **_common.peak_memory_mb())


def mlp_case(name, model, params, x_test, qpu, steps, maxiter, *, previous=True):
    """Newton (sparse queries, log-ratio loss, Gauss-Newton + CG, stopped once
    converged) against SciPy's L-BFGS on the same log-ratio loss from the same
    answers and starting point; with ``previous``, also the solver this one
    replaced (uniform queries, KL loss, 300 steps) timed in the same process."""
    import dataclasses

    d = model.num_features
    dom = ex.unit_domain(d)
    cfg = ex.NewtonConfig(model=model, queries_per_unknown=qpu, curvature="gauss_newton",
                          solver="cg", steps=steps, cg_maxiter=50)
    oracle = oracles.Oracle.from_model(model.apply, params)
    t = _common.time_call(lambda: ex.extract_newton(jax.random.key(0), oracle, dom, cfg).params,
                          repeats=1)
    res = ex.extract_newton(jax.random.key(0), oracle, dom, cfg)
    u = np.asarray(ex.uniform_queries(jax.random.key(9), dom, 10_000))
    target = lambda z: model.apply(params, jnp.asarray(z))
    extra = {}
    if previous:
        old = dataclasses.replace(cfg, loss="kl", distribution="uniform", steps=300, ftol=0.0)
        tp = _common.time_call(
            lambda: ex.extract_newton(jax.random.key(0), oracle, dom, old).params, repeats=1)
        prev = ex.extract_newton(jax.random.key(0), oracle, dom, old)
        extra = dict(previous_seconds=tp.seconds, previous_steps=int(prev.usable),
                     previous_over_new=tp.seconds / t.seconds,
                     previous_fidelity_test=_agree(target, lambda z: model.apply(prev.params, z),
                                                   x_test),
                     previous_fidelity_unif=_agree(target, lambda z: model.apply(prev.params, z),
                                                   u))
    # Baseline: L-BFGS on the same log-ratio loss over the same queries and start.
    from jax.flatten_util import ravel_pytree

    kq, ko, ki = jax.random.split(jax.random.key(0), 3)
    m = res.queries
    xq = ex.sparse_queries(kq, dom, m)
    logp = jnp.log(oracle.pure_fn(ko, xq))
    tgt = logp - logp.mean(axis=1, keepdims=True)
    theta0, unravel = ravel_pytree(model.init(jax.random.split(ki, 1)[0], xq[:1]))

    @jax.jit
    def vg(theta):
        def loss(t):
            z = model.apply(unravel(t), xq)
            return 0.5 * jnp.sum((z - z.mean(axis=1, keepdims=True) - tgt) ** 2) / m
        return jax.value_and_grad(loss)(theta)

    def fun(theta):
        f, g = vg(jnp.asarray(theta, jnp.float32))
        return float(f), np.asarray(g, np.float64)

    fun(np.asarray(theta0))  # compile outside the timing
    t0 = time.perf_counter()
    out = scipy.optimize.minimize(fun, np.asarray(theta0, np.float64), jac=True,
                                  method="L-BFGS-B",
                                  options={"maxiter": maxiter, "gtol": 1e-9, "ftol": 1e-15})
    base_s = time.perf_counter() - t0
    base = unravel(jnp.asarray(out.x, jnp.float32))
    return _common.record(
        f"extraction/{name}", t.seconds, "scipy", base_s, compile_seconds=t.compile_seconds,
        unknowns=ex.unknowns(model), queries=m, newton_steps=int(res.usable),
        fidelity_test=_agree(target, lambda z: model.apply(res.params, z), x_test),
        fidelity_unif=_agree(target, lambda z: model.apply(res.params, z), u),
        scipy_fidelity_test=_agree(target, lambda z: model.apply(base, z), x_test),
        scipy_fidelity_unif=_agree(target, lambda z: model.apply(base, z), u),
        scipy_iterations=int(out.nit), **extra, **_common.peak_memory_mb())


def _synthetic_linear(key, d, c):
    w = 2.0 * jax.random.normal(key, (d, c)) / np.sqrt(d)
    return {"w": w, "b": jnp.zeros((c,))}


def _lin(params, x):
    return x @ params["w"] + params["b"][None, :]


CASES = ("binary_lr_digits", "softmax_digits", "mlp_location", "faces")


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], argv, cases=CASES, smoke_cases=False)
    want = set(args.cases)
    recs = []
    if args.smoke:
        p = _synthetic_linear(jax.random.key(1), 60, 8)
        xt = np.random.default_rng(1).uniform(size=(500, 60)).astype(np.float32)
        recs.append(lr_case("cg_softmax_synthetic", _lin, p, 8, 60, 240, xt, solver="cg",
                            x64=False, maxiter=2000))
    else:
        from sklearn.linear_model import LogisticRegression

        ds = data.load("digits")
        if "binary_lr_digits" in want:
            sel = ds.y < 2
            clf = LogisticRegression(max_iter=2000).fit(ds.x[sel], ds.y[sel])
            a, p = models.from_sklearn_logistic(clf)
            recs.append(lr_case("binary_lr_digits", a, p, 2, 64, 65, ds.x[sel]))
        if "softmax_digits" in want:
            sm = models.make_model("softmax", num_features=64, num_classes=10)
            sp, _ = training.fit(jax.random.key(0), sm, ds.x, ds.y,
                                 training.TrainConfig(epochs=30),
                                 training.Hyper(learning_rate=1e-2))
            recs.append(lr_case("softmax_digits", sm.apply, sp, 10, 64, 650, ds.x))
        if os.environ.get("JAXPRIV_DATA") and "mlp_location" in want:
            loc = data.load("location")
            mm = models.make_model("mlp", num_features=loc.num_features,
                                   num_classes=loc.num_classes, hidden=(5,), activation="tanh")
            mp, _ = training.fit(jax.random.key(0), mm, loc.x, loc.y,
                                 training.TrainConfig(epochs=30),
                                 training.Hyper(learning_rate=3e-3))
            recs.append(mlp_case("mlp_location", mm, mp, loc.x, 5.0, 100, 3000))
        if os.environ.get("JAXPRIV_DATA") and "faces" in want:
            faces = data.load("att_faces")
            fm = models.make_model("softmax", num_features=faces.num_features, num_classes=40)
            fp, _ = training.fit(jax.random.key(0), fm, faces.x, faces.y,
                                 training.TrainConfig(epochs=60, batch_size=32),
                                 training.Hyper(learning_rate=1e-3))
            recs.append(lr_case("faces", fm.apply, fp, 40, faces.num_features, 41_216, faces.x,
                                solver="cg", x64=False, chunk=4096, maxiter=100))
        if not os.environ.get("JAXPRIV_DATA"):
            print("JAXPRIV_DATA unset: skipping the Location MLP and AT&T faces cases")
    for r in recs:
        print(f"{r['name']}: fidelity test {r['fidelity_test']:.4f} unif {r['fidelity_unif']:.4f}"
              f" | scipy {r['scipy_fidelity_test']:.4f} / {r['scipy_fidelity_unif']:.4f}"
              f" ({r['scipy_iterations']} iterations)")
        if "previous_seconds" in r:
            print(f"  previous solver (uniform queries, KL, 300 steps): fidelity test"
                  f" {r['previous_fidelity_test']:.4f} unif {r['previous_fidelity_unif']:.4f},"
                  f" {r['previous_seconds']:.1f} s = {r['previous_over_new']:.1f} x the new one")
    _common.finish(recs, args.json)


if __name__ == "__main__":
    main()
