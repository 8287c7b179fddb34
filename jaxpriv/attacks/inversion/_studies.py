"""Paper reproductions built on the inversion attacks (host-side orchestration).

* :func:`steak_study`: the decision-tree table of Fredrikson, Jha, Ristenpart
  (CCS 2015, Section 4, Table 1) on FiveThirtyEight's steak survey, averaged
  over random member / non-member splits, with the countermeasure of
  Section 6.2 (the sensitive feature forced near the root or the leaves).
* :func:`warfarin_study`: the linear-model inversion of Fredrikson et al.
  (USENIX Security 2014, Section 3) on the IWPC warfarin data.

Each split trains its own scikit-learn tree on the host (scikit-learn is the
trainer); every inversion over the split's rows and candidate values is one
compiled call.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np

from jaxpriv import _validate
from jaxpriv import metrics
from jaxpriv.data import Dataset, split as data_split
from jaxpriv.models import from_sklearn_tree
from jaxpriv.attacks.inversion._map import (
    LinearInversionConfig, LinearInversionData, TreeInversionConfig, TreeInversionData,
    confusion_matrix, ideal_baseline, invert_linear, invert_tree, marginal_prior,
    tree_inversion_baselines)

TREE_ROWS = ("whitebox", "blackbox", "random", "majority", "ideal")


def _scores(guess: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Accuracy, and precision / recall of the positive value (code 1: "Yes")."""
    pos_pred, pos_true = guess == 1, truth == 1
    return {"accuracy": metrics.accuracy(guess, truth),
            "precision": metrics.precision(pos_pred, pos_true),
            "recall": metrics.recall(pos_pred, pos_true)}


def _fit_tree(x, y, max_depth, seed, placement, sensitive):
    if placement is None:
        from sklearn.tree import DecisionTreeClassifier

        clf = DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
        return clf.fit(x, y)
    from jaxpriv.defenses import SensitiveDepthTree  # the defences package's tree

    depth = max_depth or 12
    level = 0 if placement == "top" else depth - 1
    return SensitiveDepthTree(sensitive_feature=sensitive, sensitive_depth=level,
                              max_depth=depth).fit(x, y)


def _tree_arrays(clf, x, y):
    if hasattr(clf, "to_tree_arrays"):
        return clf.to_tree_arrays()
    return from_sklearn_tree(clf, x, y)


def steak_study(key: jax.Array, ds: Dataset, *, num_splits: int = 10,
                member_fraction: float = 0.5, max_depth: int | None = None,
                placement: str | None = None, progress: bool = False) -> dict[str, Any]:
    """The paper's decision-tree inversion table, averaged over random splits.

    For each split, a tree is trained on the members to predict the survey's
    target (steak preference) from all answers including the sensitive one;
    the attacker, knowing a row's other answers and its true label, infers the
    sensitive answer ("Have you ever cheated...?") for members and
    non-members: white-box (leaf counts), black-box (confusion matrix and
    prior from the training rows), random, always-majority and ideal (a tree
    trained on the members to predict the sensitive answer).

    Args:
      key: PRNG key (splits and the random baseline).
      ds: the steak survey (``jaxpriv.data.load_steak_survey``).
      num_splits: random member / non-member splits to average over.
      member_fraction: share of rows in the training set.
      max_depth: the target tree's depth cap (``None``: full depth).
      placement: ``None`` (an ordinary CART tree), ``"top"`` or ``"bottom"``:
        the sensitive feature forced at the root or the last level (the
        countermeasure; uses ``jaxpriv.defenses.SensitiveDepthTree``).
      progress: show a progress bar over splits.

    Returns:
      ``{"rows": [{"attack", "accuracy", "precision", "recall", "member_precision",
      "nonmember_precision", ...}], "target_accuracy": ..., "splits": num_splits}``;
      the main columns are on members (the paper's setting).
    """
    if ds.sensitive is None:
        raise ValueError(f"Expected a dataset with a sensitive column; {ds.name!r} has none.")
    _validate.positive("num_splits", num_splits)
    _validate.in_range("member_fraction", member_fraction, 0.05, 0.95)
    if placement is not None:
        _validate.one_of("placement", placement, ("top", "bottom"))
    from jaxpriv._progress import progress_bar

    s = ds.sensitive
    n = len(ds)
    n_mem = int(member_fraction * n)
    per = {name: {"members": [], "nonmembers": []} for name in TREE_ROWS}
    target_acc = []
    with progress_bar(num_splits, "steak splits", progress) as bar:
        for i in range(num_splits):
            k = jax.random.fold_in(key, i)
            sp = data_split(k, n, n_members=n_mem, n_nonmembers=n - n_mem)
            xm, ym = ds.x[sp.members], ds.y[sp.members]
            xn, yn = ds.x[sp.nonmembers], ds.y[sp.nonmembers]
            clf = _fit_tree(xm, ym, max_depth, i, placement, s)
            tree = _tree_arrays(clf, xm, ym)
            target_acc.append(float(np.mean(clf.predict(xn) == yn)))
            prior = marginal_prior(xm[:, s], 2)
            pred_m = np.searchsorted(clf.classes_, clf.predict(xm))
            conf = confusion_matrix(pred_m, ym, ds.num_classes, smoothing=1e-3)
            cfg = TreeInversionConfig(sensitive=s, values=(0.0, 1.0))
            for part, x, y in (("members", xm, ym), ("nonmembers", xn, yn)):
                truth = x[:, s].astype(np.int32)
                wb = invert_tree(k, tree, TreeInversionData(x, y, prior),
                                 dataclass_replace(cfg, method="whitebox"))
                bb = invert_tree(k, tree, TreeInversionData(x, y, prior, conf),
                                 dataclass_replace(cfg, method="blackbox"))
                base = tree_inversion_baselines(jax.random.fold_in(k, 1), len(y), prior)
                ideal = ideal_baseline(xm, ym, x, y, s, max_depth=None, seed=i)
                for name, guess in (("whitebox", np.asarray(wb.guess)),
                                    ("blackbox", np.asarray(bb.guess)),
                                    ("random", base["random"]),
                                    ("majority", base["majority"]), ("ideal", ideal)):
                    per[name][part].append(_scores(guess, truth))
            bar.update(1)
    rows = []
    for name in TREE_ROWS:
        mean = lambda part, m: float(np.mean([r[m] for r in per[name][part]]))
        rows.append({
            "attack": name,
            "accuracy": mean("members", "accuracy"),
            "precision": mean("members", "precision"),
            "recall": mean("members", "recall"),
            "member_precision": mean("members", "precision"),
            "nonmember_precision": mean("nonmembers", "precision"),
            "nonmember_accuracy": mean("nonmembers", "accuracy"),
            "nonmember_recall": mean("nonmembers", "recall"),
        })
    return {"rows": rows, "target_test_accuracy": float(np.mean(target_acc)),
            "splits": int(num_splits), "max_depth": max_depth, "placement": placement,
            "members": n_mem, "nonmembers": n - n_mem}


def _linear_apply(params, x):
    return x @ params["w"] + params["b"]


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def warfarin_study(key: jax.Array, ds: Dataset, *, num_splits: int = 10,
                   member_fraction: float = 0.7) -> dict[str, Any]:
    """Linear-model inversion of VKORC1 from a warfarin dose model.

    Fredrikson et al. (USENIX Security 2014, Section 3): a least-squares model
    predicts sqrt(weekly dose) from the IWPC design matrix (trained on the
    members); the attacker knows a patient's other attributes and dose, the
    model, its training RMSE (Gaussian error model) and the genotype's
    marginal prior, and picks the most likely VKORC1 genotype. Compared with
    always guessing the most frequent genotype.

    Returns:
      ``{"rows": [{"attack", "member_accuracy", "nonmember_accuracy"}], ...}``.
    """
    from jaxpriv.data import warfarin_design_matrix
    from sklearn.linear_model import LinearRegression

    design = warfarin_design_matrix(ds)
    x = design.matrix
    y = np.sqrt(np.asarray(ds.y, np.float64)).astype(np.float32)
    truth = ds.x[:, ds.sensitive].astype(np.int32)
    v = len(design.sensitive_values)
    n = len(ds)
    n_mem = int(member_fraction * n)
    acc = {"map": {"members": [], "nonmembers": []},
           "majority": {"members": [], "nonmembers": []}}
    rmse = []
    for i in range(int(num_splits)):
        sp = data_split(jax.random.fold_in(key, i), n, n_members=n_mem, n_nonmembers=n - n_mem)
        reg = LinearRegression().fit(x[sp.members], y[sp.members])
        resid = y[sp.members] - reg.predict(x[sp.members])
        sigma = float(np.sqrt(np.mean(resid ** 2)))
        rmse.append(sigma)
        prior = marginal_prior(truth[sp.members], v)
        target = (_linear_apply, {"w": np.asarray(reg.coef_, np.float32),
                                  "b": np.float32(reg.intercept_)})
        for part, idx in (("members", sp.members), ("nonmembers", sp.nonmembers)):
            res = invert_linear(key, target, LinearInversionData(
                x[idx], y[idx], design.sensitive_columns, design.sensitive_codes, prior),
                LinearInversionConfig(sigma=sigma))
            acc["map"][part].append(metrics.accuracy(np.asarray(res.guess), truth[idx]))
            acc["majority"][part].append(
                metrics.accuracy(np.full(idx.size, int(np.argmax(prior))), truth[idx]))
    rows = [{"attack": name, "member_accuracy": float(np.mean(a["members"])),
             "nonmember_accuracy": float(np.mean(a["nonmembers"]))} for name, a in acc.items()]
    return {"rows": rows, "rmse_sqrt_dose": float(np.mean(rmse)), "splits": int(num_splits),
            "patients": n, "values": list(design.sensitive_values)}


# ----------------------------------------------------------------------------
# Faces (CCS 2015, Section 5) and the rounding countermeasure (Section 6.1)
# ----------------------------------------------------------------------------

def face_split(ds: Dataset, train_fraction: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Per-class split of rows: the target's training rows and the evaluator's rows.

    For the AT&T faces, images 1..7 of each person train the target and 8..10
    the independent identifier (``train_fraction`` of each class otherwise).

    Returns:
      ``(target_rows, evaluator_rows)``, int index arrays.
    """
    if "image_index" in ds.extra:
        idx = np.asarray(ds.extra["image_index"])
        cut = int(round(train_fraction * idx.max()))
        return np.flatnonzero(idx <= cut), np.flatnonzero(idx > cut)
    tr, ev = [], []
    for c in range(ds.num_classes):
        rows = np.flatnonzero(ds.y == c)
        k = max(1, min(len(rows) - 1, int(round(train_fraction * len(rows)))))
        tr.append(rows[:k])
        ev.append(rows[k:])
    return np.concatenate(tr), np.concatenate(ev)


def mi_face_config_for(target: str, num_features: int, process: Any, *,
                       smoke: bool = False) -> "MIFaceConfig":
    """The MI-Face settings used for each face target (the paper's beta and
    gamma = 100, 0.99; lambda = 1.0 for softmax, which reaches the same faces as
    0.1 about 10x sooner; 300 steps for the MLP and the DAE instead of 5000 to
    bound CPU time; the DAE climbs ``log p`` with lambda = 10, which measured
    best among lambda in {1, 10, 100} x cost in {1 - p, -log p}; fewer steps at
    smoke size)."""
    from jaxpriv.attacks.inversion._mi_face import MIFaceConfig

    if target == "softmax":
        return MIFaceConfig(num_features=num_features, alpha=50 if smoke else 1000,
                            beta=100, gamma=0.99, learning_rate=1.0, process=process)
    if target == "mlp":
        return MIFaceConfig(num_features=num_features, alpha=20 if smoke else 300, beta=100,
                            gamma=0.99, learning_rate=1.0, process=process)
    return MIFaceConfig(num_features=num_features, alpha=20 if smoke else 300, beta=100,
                        gamma=0.99, learning_rate=10.0, cost="neg_log_p", process=process)


def faces_study(key: jax.Array, ds: Dataset, *, targets: Sequence[str] = ("softmax", "mlp",
                                                                        "dae"),
                target_config: Any = None, unclipped: bool = True, smoke: bool = False,
                png: str | None = None, progress: bool = False) -> dict[str, Any]:
    """MI-Face on the paper's face targets, all labels per target in one call.

    Trains each target (softmax, MLP with 3000 sigmoid units, DAE) on the
    target rows of :func:`face_split`, inverts every label, and judges the
    reconstructions with independent identifiers trained on the evaluator
    rows (with and without per-image standardisation), MSE and SSIM.

    Args:
      key: PRNG key.
      ds: image data (the AT&T faces; digits for a quick run).
      targets: which of ``"softmax"``, ``"mlp"``, ``"dae"``.
      target_config: a ``FaceTargetConfig`` (default: the paper's sizes, or
        tiny ones with ``smoke``).
      unclipped: also run the unclipped variant (``process="none"``) for the
        softmax and MLP targets (the clipped one pins dark pixels at 0).
      smoke: tiny sizes.
      png: write the person / reconstruction grid here.

    Returns:
      ``{"rows": [...], "reconstructions": {name: [L, d]}, "png": path or None,
      "targets": {name: FaceTarget}, "identifiers": {...}, "evaluator_index": [...]}``
      (the last three for follow-up experiments such as :func:`rounding_study`).
    """
    import time

    from jaxpriv._progress import progress_bar
    from jaxpriv.attacks.inversion._faces import (
        FaceTargetConfig, evaluate_faces, face_grid_png, fit_identifier, train_face_targets)
    from jaxpriv.attacks.inversion._mi_face import mi_face
    from jaxpriv.training import accuracy

    if ds.image_shape is None:
        raise ValueError(f"Expected image data; {ds.name!r} has image_shape=None.")
    if target_config is None:
        target_config = (FaceTargetConfig(epochs=5, mlp_hidden=64, dae_hidden=(64, 32))
                         if smoke else FaceTargetConfig())
    tr, ev = face_split(ds)
    k_t, k_i = jax.random.split(key)
    trained = train_face_targets(k_t, ds.x[tr], ds.y[tr], ds.num_classes, ds.image_shape,
                                 target_config, targets)
    epochs = 20 if smoke else 200
    identifiers = {"standardized": fit_identifier(k_i, ds.x[ev], ds.y[ev], ds.num_classes,
                                                  epochs=epochs),
                   "raw": fit_identifier(k_i, ds.x[ev], ds.y[ev], ds.num_classes,
                                         standardize=False, epochs=epochs)}
    labels = np.arange(ds.num_classes)
    rows, recons = [], {}
    runs = []
    for name, t in trained.items():
        runs.append((name, t, t.process))
        if unclipped and name != "dae":
            runs.append((name, t, "none"))
    with progress_bar(len(runs), "MI-Face targets", progress) as bar:
        for name, t, proc in runs:
            cfg = mi_face_config_for(name, ds.num_features, proc, smoke=smoke)
            t0 = time.perf_counter()
            res = mi_face(key, (t.model.apply, t.params), labels, cfg)
            res.x.block_until_ready()
            secs = time.perf_counter() - t0
            ev_ = evaluate_faces(res.x, labels, identifiers, ds.x[ev], ds.y[ev], ds.image_shape)
            pname = proc if isinstance(proc, str) else proc.name
            col = name if pname != "none" else f"{name} (unclipped)"
            recons[col] = np.asarray(res.x)
            rows.append({"target": name, "process": pname, "cost": cfg.cost,
                         "alpha": cfg.alpha, "learning_rate": cfg.learning_rate,
                         "target_test_accuracy": accuracy(t.model.apply, t.params, ds.x[ev],
                                                          ds.y[ev]),
                         "mean_confidence": float(np.mean(np.exp(np.asarray(res.log_prob)))),
                         "mean_iterations": float(np.mean(np.asarray(res.iterations))),
                         "seconds_with_compile": secs,
                         **{k: v for k, v in ev_.items() if k != "per_label"}})
            bar.update(1)
    path = None
    if png is not None:
        persons = np.stack([ds.x[tr][np.flatnonzero(ds.y[tr] == c)[0]] for c in labels])
        path = str(face_grid_png(png, persons, recons, ds.image_shape,
                                 per_row=4 if ds.num_classes >= 20 else 5))
    return {"rows": rows, "reconstructions": recons, "png": path,
            "identifier_rows": int(len(ev)), "target_rows": int(len(tr)),
            "targets": trained, "identifiers": identifiers,
            "evaluator_index": ev}


def rounding_study(key: jax.Array, target: tuple, labels: Any, config: Any,
                   identifiers: dict, *, decimals: Sequence[int | None] = (None, 4, 3, 2, 1),
                   images: Any = None, image_labels: Any = None,
                   image_shape: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """The rounding countermeasure (CCS 2015, Section 6.1): black-box MI-Face
    success against the number of decimals the oracle rounds confidences to.

    For each setting an oracle over ``target`` rounds its outputs
    (``None``: no rounding) and :func:`mi_face_blackbox` attacks it.

    Returns:
      one dict per setting: ``decimals``, ``identified_<name>``, the true
      (unrounded) confidence of the reconstructions, queries, and MSE/SSIM when
      ``images`` are given.
    """
    from jaxpriv.attacks.inversion._faces import evaluate_faces
    from jaxpriv.attacks.inversion._mi_face import mi_face_blackbox
    from jaxpriv.oracles import Oracle, round_outputs

    apply_fn, params = target
    labels = np.asarray(labels)
    rows = []
    for dec in decimals:
        oracle = Oracle.from_model(apply_fn, params,
                                   defenses=() if dec is None else (round_outputs(dec),))
        res = mi_face_blackbox(key, oracle, labels, config)
        probs = np.asarray(jax.nn.softmax(apply_fn(params, res.x), axis=-1))
        row = {"decimals": dec, "oracle": oracle.describe(),
               "true_confidence": float(np.mean(probs[np.arange(len(labels)), labels])),
               "mean_iterations": float(np.mean(np.asarray(res.iterations))),
               "queries": int(oracle.queries)}
        if images is not None:
            ev = evaluate_faces(res.x, labels, identifiers, images, image_labels, image_shape)
            row.update({k: v for k, v in ev.items() if k != "per_label"})
        else:
            for name, ident in identifiers.items():
                row[f"identified_{name}"] = float(np.mean(ident.predict(res.x) == labels))
        rows.append(row)
    return rows
