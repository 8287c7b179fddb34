"""Model extraction in ``jaxpriv run`` and the paper's cases (Tramèr et al.,
USENIX Security 2016), shared by ``jaxpriv extract``, the notebook and the
benchmark.

``run(ctx)`` steals the audit's target through its oracle (exact, and through
the defended oracle's output defences) and reports fidelity on test and
uniform points, queries and price. ``CASES`` maps a name to a function
``case(key, *, data_dir=None, smoke=False) -> dict`` reproducing one row of
the paper's tables, with the paper's figure beside ours.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import data, models, oracles, training
from jaxpriv.attacks import extraction as ex

# Tramèr et al. 2016 figures quoted beside ours.
PAPER = {
    "binary_lr": "n + 1 queries, 1-R_test = 1-R_unif = 100% (Table 4, LR models)",
    "softmax": "530 unknowns, 530 queries (1 per unknown), 100% (Table 4)",
    "mlp": "2,225 unknowns, 11,125 queries (5 per unknown), 1-R_test 99.96% (Table 4)",
    "tree": "German Credit, 26 leaves: 1,722 queries; 1,150 with incomplete queries (Table 6)",
    "faces": "412,160 unknowns from 41,216 queries, about 10 hours (§4.1.2)",
    "label_only": "retraining needs ~100 x (d+1) label queries for 99%+ (Figure 4)",
    "rounding": "rounding to 2-3 decimals does not stop equation solving (§8.1, Figure 6)",
}


def _labels(fn, x):
    return np.asarray(fn(jnp.asarray(x, jnp.float32))).argmax(axis=1)


def _f32(tree):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), tree)


# ----------------------------------------------------------------------------
# ``jaxpriv run``
# ----------------------------------------------------------------------------

def _one_hidden_layer(model: models.Model) -> bool:
    return model.name == "mlp" and len(getattr(model.module, "hidden", ())) == 1


def run(ctx) -> list[dict[str, Any]]:
    """Extraction rows of the audit: the target stolen through its oracles.

    A softmax target behind an exact oracle is solved from its log-ratios.
    Any other target answering confidences is stolen by Newton (exact
    Hessian for softmax, else Gauss-Newton with conjugate gradients) from
    two queries per unknown (one in smoke mode), drawn by
    :func:`jaxpriv.attacks.extraction.sparse_queries` from the data's
    bounding box (the attacker knows the feature ranges, no data rows):
    the log-ratio loss for an exact oracle, the KL divergence behind lossy
    defences such as rounding. A label-only oracle gets adaptive retraining
    (Tramèr et al. 2016, §5.2) with the same budget. Newton takes 40 steps
    of at most 20 CG iterations: on the default target (relu MLP 64-64-10 on
    digits, 4,810 unknowns, 9,620 queries) 100% test and 99.1% uniform
    agreement through the exact oracle, 99.3% and 96.1% through the
    l2=0.01 + round(1) one, about 16 s for both rows on 2 shared cores (60
    steps of 30: 99.6% uniform through the exact oracle, 22 s).
    """
    ds, model = ctx.dataset, ctx.model
    x_test = ctx.test.x
    dom = ex.data_domain(ds.x)
    unknowns = ex.unknowns(model)
    qpu = 1.0 if ctx.smoke else 2.0
    rows = []
    for i, defended in enumerate((False, True)):
        oracle = ctx.oracle(defended=defended)
        params = ctx.defended_params if defended and ctx.defended_params is not None \
            else ctx.params
        key = jax.random.fold_in(ctx.key, i)
        extra: dict[str, Any] = {}
        if model.name == "softmax" and not oracle.lossy:
            attack = "equation_solving"
            res = ex.extract_lr(key, oracle, dom, ex.LRConfig(num_classes=model.num_classes))
            stolen = lambda x, p=_f32(res.params): ex.linear_apply(p, x)
        elif oracle.kind == oracles.LABEL:
            attack = "retrain_adaptive"
            cfg = ex.RetrainConfig(model=model, strategy="adaptive",
                                   queries=int(qpu * unknowns), rounds=5,
                                   train_steps=50 if ctx.smoke else 300)
            res = ex.extract_retrain(key, oracle, dom, cfg)
            stolen = lambda x, p=res.params: model.apply(p, x)
        else:
            attack = "newton"
            linear = model.name == "softmax"
            cfg = ex.NewtonConfig(model=model, queries_per_unknown=qpu,
                                  steps=8 if ctx.smoke else 40,
                                  curvature="hessian" if linear else "gauss_newton",
                                  solver="auto" if linear else "cg",
                                  cg_maxiter=10 if ctx.smoke else 20)
            res = ex.extract_newton(key, oracle, dom, cfg)
            stolen = lambda x, p=res.params: model.apply(p, x)
            extra = {"newton_loss": ex.resolve_loss(cfg, oracle),
                     "queries_from": cfg.distribution,
                     "newton_steps": int(res.usable)}
        rep = ex.extraction_report(jax.random.fold_in(key, 1),
                                   lambda x, p=params: model.apply(p, x), stolen, dom,
                                   x_test=x_test, y_test=ctx.test.y, queries=res.queries,
                                   num_uniform=2000 if ctx.smoke else 10_000)
        rows.append({"family": "extraction", "attack": attack,
                     "target": "defended" if defended else "undefended",
                     "oracle": oracle.describe(), "unknowns": unknowns,
                     "queries_per_unknown": res.queries / unknowns, **extra,
                     "seconds": res.seconds, **rep})
    return rows


# ----------------------------------------------------------------------------
# The paper's cases
# ----------------------------------------------------------------------------

def binary_lr_digits(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """Binary LR on digits 0 vs 1: d + 1 = 65 queries, one float64 solve."""
    from sklearn.linear_model import LogisticRegression

    ds = data.load("digits")
    sel = ds.y < 2
    clf = LogisticRegression(max_iter=2000).fit(ds.x[sel], ds.y[sel])
    apply_fn, params = models.from_sklearn_logistic(clf)
    oracle = oracles.Oracle.from_model(apply_fn, params)
    res = ex.extract_binary_lr(key, oracle, ex.unit_domain(64))
    with jax.enable_x64(True):
        rep = ex.extraction_report(
            jax.random.fold_in(key, 1), lambda x: apply_fn(params, x),
            lambda x: ex.linear_apply(res.params, jnp.asarray(x, jnp.float64)),
            ex.unit_domain(64), x_test=ds.x[sel], y_test=ds.y[sel], queries=res.queries)
    return {"case": "binary_lr_digits", "unknowns": 65, **rep,
            "max_param_error": ex.max_param_error(res.params, params),
            "seconds": res.seconds, "paper": PAPER["binary_lr"]}


def _pooled_digits(ds):
    """Digits averaged over 2 x 2 pixel blocks: 16 features in [0, 1]."""
    return ds.x.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)


def _digits_softmax(key, pooled: bool = False):
    ds = data.load("digits")
    x = _pooled_digits(ds) if pooled else ds.x
    model = models.make_model("softmax", num_features=x.shape[1], num_classes=10)
    params, _ = training.fit(key, model, x, ds.y, training.TrainConfig(epochs=30),
                             training.Hyper(learning_rate=1e-2))
    return ds, model, params


def softmax_digits(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """Softmax regression on digits (650 unknowns): log-ratio solve from 650
    queries (1 per unknown) and Newton from the same queries."""
    ds, model, params = _digits_softmax(jax.random.fold_in(key, 0))
    out = {"case": "softmax_digits", "unknowns": ex.paper_unknowns(64, 10),
           "paper": PAPER["softmax"]}
    dom = ex.unit_domain(64)
    oracle = oracles.Oracle.from_model(model.apply, params)
    res = ex.extract_lr(jax.random.fold_in(key, 1), oracle, dom,
                        ex.LRConfig(num_classes=10, queries=650))
    rep = ex.extraction_report(jax.random.fold_in(key, 2), lambda x: model.apply(params, x),
                               lambda x: ex.linear_apply(_f32(res.params), x), dom,
                               x_test=ds.x, y_test=ds.y, queries=res.queries)
    out["equation_solving"] = {**rep, "seconds": res.seconds}
    if not smoke:
        res = ex.extract_newton(jax.random.fold_in(key, 3), oracle, dom,
                                ex.NewtonConfig(model=model, queries_per_unknown=1.0))
        rep = ex.extraction_report(jax.random.fold_in(key, 2), lambda x: model.apply(params, x),
                                   lambda x: model.apply(res.params, x), dom,
                                   x_test=ds.x, y_test=ds.y, queries=res.queries)
        out["newton"] = {**rep, "seconds": res.seconds}
    return out


def mlp_location(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """A one-hidden-layer tanh MLP on Location (446 -> 5 -> 30: 2,415 unknowns,
    close to the paper's 2,225) from 5 queries per unknown: sparse queries,
    the log-ratio loss, Gauss-Newton curvature with conjugate gradients,
    stopped once converged. Smoke: 446 -> 2 -> 30."""
    ds = data.load("location", data_dir)
    hidden = 2 if smoke else 5
    model = models.make_model("mlp", num_features=ds.num_features,
                              num_classes=ds.num_classes, hidden=(hidden,), activation="tanh")
    params, _ = training.fit(jax.random.fold_in(key, 0), model, ds.x, ds.y,
                             training.TrainConfig(epochs=5 if smoke else 30),
                             training.Hyper(learning_rate=3e-3))
    oracle = oracles.Oracle.from_model(model.apply, params)
    dom = ex.unit_domain(ds.num_features)
    cfg = ex.NewtonConfig(model=model, queries_per_unknown=5.0, curvature="gauss_newton",
                          solver="cg", steps=100, cg_maxiter=50)
    res = ex.extract_newton(jax.random.fold_in(key, 1), oracle, dom, cfg)
    rep = ex.extraction_report(jax.random.fold_in(key, 2), lambda x: model.apply(params, x),
                               lambda x: model.apply(res.params, x), dom, x_test=ds.x,
                               y_test=ds.y, queries=res.queries)
    return {"case": "mlp_location", "unknowns": ex.unknowns(model), **rep,
            "queries_per_unknown": res.queries / ex.unknowns(model),
            "newton_steps": int(res.usable), "loss": float(res.residual),
            "seconds": res.seconds, "paper": PAPER["mlp"]}


def tree_digits(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """A 26-leaf scikit-learn tree on digits (64 continuous features), stolen
    by path finding with complete and with incomplete queries."""
    from sklearn.tree import DecisionTreeClassifier

    ds = data.load("digits")
    leaves = 20 if smoke else 26
    clf = DecisionTreeClassifier(max_leaf_nodes=leaves, random_state=0).fit(ds.x, ds.y)
    tree = models.from_sklearn_tree(clf)
    dom = ex.unit_domain(64)
    out = {"case": "tree_digits", "leaves": tree.num_leaves, "paper": PAPER["tree"]}
    for incomplete in (False, True):
        stolen = ex.extract_tree(key, ex.tree_oracle(tree, incomplete=incomplete), dom,
                                 ex.TreeConfig(incomplete=incomplete))
        rep = ex.extraction_report(
            jax.random.fold_in(key, 1), lambda x: models.tree_leaf(tree, x),
            lambda x, s=stolen: ex.stolen_tree_apply(s, x), dom, x_test=ds.x,
            queries=stolen.queries)
        out["incomplete" if incomplete else "complete"] = {
            **rep, "leaves_found": stolen.num_leaves, "seconds": stolen.seconds}
    return out


def tree_steak(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """A tree on the FiveThirtyEight steak survey (12 categorical features,
    like German Credit's mix of categories), stolen with categorical probes."""
    from sklearn.tree import DecisionTreeClassifier

    ds = data.load("steak_survey", data_dir)
    clf = DecisionTreeClassifier(max_leaf_nodes=26, random_state=0).fit(ds.x, ds.y)
    tree = models.from_sklearn_tree(clf)
    high = np.array([len(ds.value_sets[n]) - 1 for n in ds.feature_names], np.float32)
    dom = ex.box_domain(np.zeros_like(high), high)
    cfg_cat = tuple(range(ds.num_features))
    out = {"case": "tree_steak", "leaves": tree.num_leaves, "paper": PAPER["tree"]}
    rng = np.random.default_rng(0)
    u = np.floor(rng.uniform(size=(5000, ds.num_features)) * (high + 1)).astype(np.float32)
    for incomplete in (False, True):
        stolen = ex.extract_tree(key, ex.tree_oracle(tree, incomplete=incomplete), dom,
                                 ex.TreeConfig(categorical=cfg_cat, incomplete=incomplete))
        t = np.asarray(models.tree_leaf(tree, jnp.asarray(ds.x)))
        s = np.asarray(ex.stolen_tree_apply(stolen, jnp.asarray(ds.x)))
        tu = np.asarray(models.tree_leaf(tree, jnp.asarray(u)))
        su = np.asarray(ex.stolen_tree_apply(stolen, jnp.asarray(u)))
        out["incomplete" if incomplete else "complete"] = {
            "1-R_test": float(np.mean(t == s)), "1-R_unif": float(np.mean(tu == su)),
            "queries": stolen.queries, "leaves_found": stolen.num_leaves,
            "seconds": stolen.seconds}
    return out


def label_only_digits(key, *, data_dir=None, smoke=False) -> dict[str, Any]:
    """Label-only attacks on binary LR (digits 0 vs 1): Lowd-Meek and the three
    retraining strategies with a budget of ``k (d + 1)`` label queries."""
    from sklearn.linear_model import LogisticRegression

    ds = data.load("digits")
    sel = ds.y < 2
    clf = LogisticRegression(max_iter=2000).fit(ds.x[sel], ds.y[sel])
    apply_fn, params = models.from_sklearn_logistic(clf)
    dom = ex.unit_domain(64)
    target = lambda x: apply_fn(params, x)
    out = {"case": "label_only_digits", "paper": PAPER["label_only"]}
    oracle = oracles.Oracle.from_model(apply_fn, params, defenses=[oracles.label_only()])
    res = ex.lowd_meek(key, oracle, dom)
    with jax.enable_x64(True):
        out["lowd_meek"] = {**ex.extraction_report(
            jax.random.fold_in(key, 1), target,
            lambda x: ex.linear_apply(res.params, jnp.asarray(x, jnp.float64)), dom,
            x_test=ds.x[sel], queries=res.queries), "seconds": res.seconds}
    cand = models.make_model("softmax", num_features=64, num_classes=2)
    budgets = (5,) if smoke else (1, 5, 20)
    for k in budgets:
        for strategy in ex.STRATEGIES:
            oracle = oracles.Oracle.from_model(apply_fn, params,
                                               defenses=[oracles.label_only()])
            cfg = ex.RetrainConfig(model=cand, strategy=strategy, queries=k * 65,
                                   rounds=5, train_steps=100 if smoke else 400)
            res = ex.extract_retrain(jax.random.fold_in(key, k), oracle, dom, cfg)
            out[f"{strategy}_{k}x"] = {**ex.extraction_report(
                jax.random.fold_in(key, 2), target,
                lambda x, p=res.params: cand.apply(p, x), dom, x_test=ds.x[sel],
                queries=res.queries), "seconds": res.seconds}
    return out


ROUNDING_BUDGETS = (1.0, 2.0, 4.0, 8.0)


def rounding_digits(key, *, data_dir=None, smoke=False) -> list[dict[str, Any]]:
    """The rounding countermeasure on a digits softmax model: Newton (KL loss
    behind rounding, sparse queries) from 1, 2, 4 and 8 queries per unknown as
    the oracle rounds to 1...5 decimals, beside the exact oracle; pass the rows
    to ``ex.queries_needed`` for the budget each level needs. Smoke: the
    digits pooled to 16 features (170 unknowns), budgets 1 and 4."""
    ds, model, params = _digits_softmax(jax.random.fold_in(key, 0), pooled=smoke)
    x = _pooled_digits(ds) if smoke else ds.x
    return ex.rounding_sweep(jax.random.fold_in(key, 1), model.apply, params, model,
                             ex.unit_domain(x.shape[1]), x_test=x, decimals=ex.DECIMALS,
                             queries_per_unknown=(1.0, 4.0) if smoke else ROUNDING_BUDGETS,
                             newton=ex.NewtonConfig(model=model, steps=100),
                             num_uniform=5000 if smoke else 10_000)


def faces(key, *, data_dir=None, smoke=False, invert: bool = True) -> dict[str, Any]:
    """The AT&T-faces softmax model (412,160 unknowns) from 41,216 queries by
    conjugate gradients on the centred log-ratio system, in float32; then
    MI-Face on the stolen model. Smoke: faces downsampled 4 x 4 (28 x 23)."""
    ds = data.load("att_faces", data_dir)
    x = ds.x
    if smoke:
        x = ds.images()[:, ::4, ::4].reshape(len(ds), -1)
    d = x.shape[1]
    model = models.make_model("softmax", num_features=d, num_classes=40)
    t0 = time.perf_counter()
    params, _ = training.fit(jax.random.fold_in(key, 0), model, x, ds.y,
                             training.TrainConfig(epochs=10 if smoke else 60, batch_size=32),
                             training.Hyper(learning_rate=1e-2 if smoke else 1e-3))
    train_s = time.perf_counter() - t0
    oracle = oracles.Oracle.from_model(model.apply, params)
    dom = ex.unit_domain(d)
    cfg = ex.faces_config(queries=4 * d)
    res = ex.extract_lr(jax.random.fold_in(key, 1), oracle, dom, cfg)
    stolen = _f32(res.params)
    rep = ex.extraction_report(jax.random.fold_in(key, 2), lambda z: model.apply(params, z),
                               lambda z: ex.linear_apply(stolen, z), dom, x_test=x,
                               y_test=ds.y, queries=res.queries)
    u = np.asarray(ex.uniform_queries(jax.random.fold_in(key, 2), dom, 10_000))
    top = np.bincount(_labels(lambda z: model.apply(params, z), u), minlength=40).max()
    out = {"case": "faces", "unknowns": 40 * d, "features": d, **rep,
           "uniform_top_class_share": float(top / u.shape[0]),
           "solve_seconds": res.seconds, "train_seconds": train_s,
           "relative_residual": float(res.residual), "paper": PAPER["faces"]}
    if invert:
        from jaxpriv.attacks.inversion import MIFaceConfig, mi_face

        mcfg = MIFaceConfig(num_features=d, alpha=30 if smoke else 1000, beta=50,
                            learning_rate=0.1)
        labels = jnp.arange(4 if smoke else 40)
        inv_s = mi_face(jax.random.fold_in(key, 3), (ex.linear_apply, stolen), labels, mcfg)
        if not smoke:  # the same attack on the target itself, for comparison
            inv_t = mi_face(jax.random.fold_in(key, 3), (model.apply, params), labels, mcfg)
            out["mi_face_max_abs_diff_stolen_vs_target"] = float(
                jnp.max(jnp.abs(inv_s.x - inv_t.x)))
        out["mi_face_images"] = np.asarray(inv_s.x)
    return out


CASES: dict[str, Callable[..., Any]] = {
    "binary_lr_digits": binary_lr_digits,
    "softmax_digits": softmax_digits,
    "mlp_location": mlp_location,
    "tree_digits": tree_digits,
    "tree_steak": tree_steak,
    "label_only_digits": label_only_digits,
    "rounding_digits": rounding_digits,
    "faces": faces,
}
NEEDS_DATA = ("mlp_location", "tree_steak", "faces")


def run_case(name: str, key: jax.Array, *, data_dir=None, smoke: bool = False) -> Any:
    """Runs one of ``CASES`` by name (an unknown name lists the known ones)."""
    from jaxpriv import _validate

    _validate.one_of("case", name, CASES)
    return CASES[name](key, data_dir=data_dir, smoke=smoke)
