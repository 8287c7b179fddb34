"""``jaxpriv run``: train the targets, run every attack family against them, report.

The job is a list of *units*: the trained targets (one ``fit_many`` program for
the undefended target and every L2-defended one), then one unit per attack
family and defended setting. Each finished unit is written atomically under
``out_dir/units/<fingerprint>/`` (targets as ``jaxpriv.io`` model files,
family rows as JSON), so Ctrl-C (or a kill) loses only the unit in flight and
running the same command again resumes without redoing finished units. The
fingerprint covers every setting that changes a unit's result, so runs of
different configs share an ``out_dir`` without mixing.

Outputs in ``out_dir``: ``results.json`` (this run), ``results.csv`` and
``results.md`` (one row per target x defense x attack, accumulated across
runs), ``report.md`` and ``report.html`` with the families' pictures, log-log
ROC curves and a privacy-utility plot, and ``units/<fingerprint>/targets/*.jpm``
(load with ``jaxpriv.io.load_model``; serve with ``jaxpriv serve``).
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import re
import sys
import time
import traceback
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import data, io, metrics, models, training
from jaxpriv._progress import progress_bar
from jaxpriv.experiments._config import DefenseSetting, RunConfig
from jaxpriv.experiments._context import AuditContext
from jaxpriv.results import load_json, save_json, to_jsonable

UNDEFENDED = "undefended"
DEFENDED = "defended"


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", s).strip("_") or "x"


def family_function(name: str, target: str):
    """Imports ``module`` (its ``run``) or ``module:function`` for family ``name``."""
    mod_name, _, fn_name = target.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"Attack family {name!r}: cannot import {mod_name!r} ({e}).") from None
    fn = getattr(mod, fn_name or "run", None)
    if not callable(fn):
        raise ValueError(f"Attack family {name!r}: {mod_name!r} has no function "
                         f"{fn_name or 'run'!r}.")
    return fn


def prepare_data(config: RunConfig) -> tuple[data.Dataset, data.Split]:
    """Loads the data set, keeps ``max_rows`` rows and draws the split (from ``seed``)."""
    root = jax.random.key(config.seed)
    ds = data.load(config.dataset, data_dir=config.data_dir or None)
    if ds.num_classes < 2:
        raise ValueError(f"jaxpriv run audits classifiers; dataset={config.dataset!r} is a "
                         f"regression data set (num_classes={ds.num_classes}).")
    if config.max_rows and len(ds) > config.max_rows:
        keep = np.asarray(jax.random.permutation(jax.random.fold_in(root, 99), len(ds)))
        ds = ds.subset(np.sort(keep[:config.max_rows]))
    n = len(ds)
    n_mem = int(config.member_fraction * n)
    n_non = int(config.nonmember_fraction * n)
    split = data.split(jax.random.fold_in(root, 1), n, n_members=n_mem,
                       n_nonmembers=n_non, n_test=n - n_mem - n_non, stratify=ds.y)
    return ds, split


def make_target_model(config: RunConfig, ds: data.Dataset) -> models.Model:
    return models.make_model(config.model, num_features=ds.num_features,
                             num_classes=ds.num_classes, hidden=config.hidden,
                             activation=config.activation, image_shape=ds.image_shape)


def _l2_values(config: RunConfig) -> list[float]:
    """Distinct L2 weights to train: 0 (undefended) first, then the defended ones."""
    out = [0.0]
    for s in config.defended:
        if float(s.l2) not in out:
            out.append(float(s.l2))
    return out


def train_targets(config: RunConfig, ds: data.Dataset, split: data.Split,
                  model: models.Model, target_dir: pathlib.Path) -> tuple[dict[float, Any], bool]:
    """Trains (or loads) one target per L2 weight, all in one ``fit_many`` program.

    Every target starts from the same initialisation and sees the same
    minibatch order, so they differ only by the L2 weight.

    Returns:
      ``({l2: params}, trained_now)``.
    """
    l2s = _l2_values(config)
    paths = {l2: target_dir / f"target_l2={l2:g}.jpm" for l2 in l2s}
    if all(p.exists() for p in paths.values()):
        return {l2: io.load_model(p).params for l2, p in paths.items()}, False
    key = jax.random.fold_in(jax.random.key(config.seed), 2)
    keys = jnp.stack([key] * len(l2s))
    tc = training.TrainConfig(epochs=config.epochs, batch_size=config.batch_size,
                              progress=config.progress)
    hyper = training.Hyper(learning_rate=jnp.full((len(l2s),), config.learning_rate),
                           l2=jnp.asarray(l2s, jnp.float32))
    stacked, _ = training.fit_many(keys, model, ds.x[split.members], ds.y[split.members],
                                   tc, hyper)
    stacked = jax.device_get(stacked)
    out = {}
    for i, l2 in enumerate(l2s):
        params = jax.tree_util.tree_map(lambda p: p[i], stacked)
        io.save_model(paths[l2], model, params,
                      meta={"dataset": config.dataset, "l2": l2, "seed": config.seed,
                            "run": config.fingerprint()})
        out[l2] = params
    return out, True


def _utilities(model, params_list: list, ds: data.Dataset,
               split: data.Split) -> list[dict[str, float]]:
    """Train / test accuracy, gap and calibration of each target (one compiled call)."""
    stacked = jax.tree_util.tree_map(lambda *p: jnp.stack(p), *params_list)
    rows = np.concatenate([split.members, split.test])
    probs = np.asarray(jax.jit(jax.vmap(lambda p, x: jax.nn.softmax(model.apply(p, x), -1),
                                        in_axes=(0, None)))(stacked, ds.x[rows]))
    out = []
    for pr in probs:
        p_tr, p_te = pr[:split.members.size], pr[split.members.size:]
        tr = metrics.accuracy(p_tr.argmax(1), ds.y[split.members])
        te = metrics.accuracy(p_te.argmax(1), ds.y[split.test])
        out.append({"train_accuracy": tr, "test_accuracy": te, "generalization_gap": tr - te,
                    "test_ece": metrics.expected_calibration_error(p_te, ds.y[split.test])})
    return out


def _new_pngs(folder: pathlib.Path, before: set[pathlib.Path]) -> list[pathlib.Path]:
    return sorted(p for p in folder.rglob("*.png") if p not in before) if folder.exists() else []


def _finish_rows(rows: list[dict], *, fam: str, setting: DefenseSetting, fig_dir: pathlib.Path,
                 out_dir: pathlib.Path, new_pngs: list[pathlib.Path]) -> dict[str, Any]:
    """Checks a family's rows and makes image paths relative to ``out_dir``."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"Attack family {fam!r} must return a list of dict rows; got "
                         f"{type(rows).__name__}.")
    images, declared = [], set()
    out = []
    for r in rows:
        r = dict(to_jsonable(r))
        missing = [k for k in ("attack", "target") if k not in r]
        if missing:
            raise ValueError(f"Attack family {fam!r} returned a row without {missing}: {r}.")
        r.setdefault("family", fam)
        imgs = []
        for img in r.get("images", []) or []:
            p = pathlib.Path(img["path"])
            p = p if p.is_absolute() else fig_dir / p
            declared.add(p.resolve())
            if p.exists():
                rel = str(p.resolve().relative_to(out_dir.resolve())) \
                    if p.resolve().is_relative_to(out_dir.resolve()) else str(p)
                imgs.append({"title": img.get("title", p.stem), "path": rel})
        if imgs:
            r["images"] = imgs
        images += [{**i, "family": fam, "attack": r["attack"], "target": r["target"]}
                   for i in imgs]
        out.append(r)
    for p in new_pngs:
        if p.resolve() not in declared:
            images.append({"title": p.stem.replace("_", " "), "family": fam,
                           "path": str(p.resolve().relative_to(out_dir.resolve()))})
    return {"rows": out, "images": images}


def run_audit(config: RunConfig, out_dir: str | pathlib.Path) -> dict[str, Any]:
    """Runs the main job (resuming finished units) and writes every output.

    Args:
      config: the run's settings.
      out_dir: results folder (created).

    Returns:
      The results dictionary also written to ``out_dir/results.json``, with
      ``rows`` (one per target x defense x attack), ``targets`` (utility of
      each), ``units`` (seconds and whether each was resumed), ``images`` and
      ``errors`` (families that raised: reported, not saved, so the next run
      tries them again; the other families still run).
    """
    from jaxpriv import report

    out_dir = pathlib.Path(out_dir)
    fp = config.fingerprint()
    unit_dir = out_dir / "units" / fp
    target_dir = unit_dir / "targets"
    target_dir.mkdir(parents=True, exist_ok=True)
    save_json(unit_dir / "config.json", {"fingerprint": fp, "config": config})
    registry = config.registry()
    families = config.family_names()
    runners = {fam: family_function(fam, registry[fam]) for fam in families}  # fail early

    t0 = time.time()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    root = jax.random.key(config.seed)
    ds, split = prepare_data(config)
    model = make_target_model(config, ds)
    by_l2, trained = train_targets(config, ds, split, model, target_dir)
    undefended = by_l2[0.0]
    l2s = list(by_l2)
    util = dict(zip(l2s, _utilities(model, [by_l2[k] for k in l2s], ds, split)))
    targets = {UNDEFENDED: {"defense": "none", "l2": 0.0, "output": [],
                            "file": str(target_dir / "target_l2=0.jpm"), **util[0.0]}}
    for s in config.defended:
        targets[s.name] = {"defense": s.name, "l2": s.l2, "output": list(s.output),
                           "file": str(target_dir / f"target_l2={float(s.l2):g}.jpm"),
                           **util[float(s.l2)]}
    results: dict[str, Any] = {
        "run": fp,
        "started": started,
        "config": dataclasses.asdict(config),
        "dataset": {"name": ds.name, "rows": len(ds), "features": ds.num_features,
                    "classes": ds.num_classes, "members": int(split.members.size),
                    "nonmembers": int(split.nonmembers.size), "test": int(split.test.size)},
        "targets": targets,
        "l2_convention": "loss penalty l2/2 * sum of squared kernel weights "
                         "(not decoupled weight decay)",
        "units": [{"unit": "targets", "resumed": not trained}],
        "rows": [],
        "images": [],
        "errors": [],
        "complete": False,
    }
    tc = training.TrainConfig(epochs=config.epochs, batch_size=config.batch_size)

    todo = [(fam, i, s) for fam in families for i, s in enumerate(config.defended)]
    try:
        with progress_bar(len(todo), "attack families", config.progress) as bar:
            for fam, i, setting in todo:
                bar.set_description(f"{fam} [{setting.name}]")
                unit = unit_dir / f"family_{_slug(fam)}__{_slug(setting.name)}.json"
                if unit.exists():
                    done = load_json(unit)
                    resumed = True
                else:
                    fig_dir = out_dir / "figures" / fp / _slug(fam) / _slug(setting.name)
                    fig_dir.mkdir(parents=True, exist_ok=True)
                    before = set(fig_dir.rglob("*.png"))
                    ctx = AuditContext(
                        key=jax.random.fold_in(root, 1000 + sum(map(ord, fam))),
                        dataset=ds, split=split, model=model, params=undefended,
                        defended_params=by_l2[float(setting.l2)], defenses=setting.defenses,
                        train_config=tc,
                        hyper=training.Hyper(learning_rate=config.learning_rate, l2=0.0),
                        out_dir=fig_dir, smoke=config.smoke, progress=config.progress,
                        defense_name=setting.name)
                    u0 = time.time()
                    try:
                        rows = runners[fam](ctx)
                        done = _finish_rows(rows, fam=fam, setting=setting, fig_dir=fig_dir,
                                            out_dir=out_dir,
                                            new_pngs=_new_pngs(fig_dir, before))
                    except Exception as e:  # one broken family must not sink the audit
                        msg = f"{type(e).__name__}: {e}"
                        print(f"\njaxpriv run: family {fam!r} [{setting.name}] failed: {msg}\n"
                              + traceback.format_exc(), file=sys.stderr)
                        results["errors"].append({"unit": f"{fam} [{setting.name}]",
                                                  "error": msg})
                        results["units"].append({"unit": f"{fam} [{setting.name}]",
                                                 "seconds": time.time() - u0,
                                                 "resumed": False, "error": msg})
                        bar.update(1)
                        continue  # not saved: the next run tries it again
                    done["seconds"] = time.time() - u0
                    save_json(unit, done)
                    resumed = False
                for r in done["rows"]:
                    if r["target"] == UNDEFENDED and i > 0:
                        continue  # already there from the first defended setting
                    defended = r["target"] != UNDEFENDED
                    name = setting.name if defended else UNDEFENDED
                    r = {"run": fp, "dataset": ds.name, "model": config.model,
                         "target": r["target"], "defense": name if defended else "none",
                         "family": fam, "attack": r["attack"], **r}
                    if name in targets:
                        r.setdefault("target_test_accuracy", targets[name]["test_accuracy"])
                    results["rows"].append(r)
                results["images"] += [im for im in done.get("images", [])
                                      if im.get("target") != UNDEFENDED or i == 0]
                results["units"].append({"unit": f"{fam} [{setting.name}]",
                                         "seconds": done.get("seconds"), "resumed": resumed})
                bar.update(1)
        results["complete"] = not results["errors"]
    except BaseException:
        # Ctrl-C or a failing family: keep what finished (units are on disk
        # already) and still write the partial results and report.
        results["interrupted"] = True
        results["seconds"] = time.time() - t0
        try:
            save_json(out_dir / "results.json", results)
            report.write_all(results, out_dir, table=config.table or None)
        except Exception as e:  # never hide the original error
            print(f"jaxpriv run: could not write the partial report: {e}", file=sys.stderr)
        raise
    results["seconds"] = time.time() - t0
    save_json(out_dir / "results.json", results)
    report.write_all(results, out_dir, table=config.table or None)
    return results


__all__ = ["family_function", "make_target_model", "prepare_data", "run_audit",
           "train_targets"]
