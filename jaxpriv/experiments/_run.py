"""``jaxpriv run``: train a target, run every registered attack family, report.

Finished units (the trained targets, each attack family) are saved under
``out_dir/units/`` as they finish; running again with the same ``out_dir`` and
config resumes and does not redo them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import time
from typing import Any, Sequence

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate, data, metrics, models, oracles, training
from jaxpriv.experiments import _suite
from jaxpriv.experiments._context import AuditContext
from jaxpriv.results import load_json, save_json


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Settings of the main job; every field has a default.

    Attributes:
      dataset: one of ``jaxpriv.data.DATASETS`` (default ``"digits"``, bundled).
      model: target architecture, one of ``jaxpriv.models.MODELS``.
      hidden: hidden widths for ``mlp`` / ``dae``.
      activation: MLP activation.
      epochs, batch_size, learning_rate: target training.
      l2: L2 weight of the defended target (a loss penalty ``l2/2 |w|^2``).
      defenses: output defences of the defended oracle, e.g. ``("round:2",)``.
      member_fraction, nonmember_fraction: shares of rows for the target's
        training set and the held-out non-members (the rest is test data).
      families: attack families to run (default: all registered).
      seed: the root PRNG seed.
      data_dir: where the shared data sets live (else ``JAXPRIV_DATA``).
      smoke: tiny sizes (tests).
    """

    dataset: str = "digits"
    model: str = "mlp"
    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    l2: float = 1e-2
    defenses: tuple[str, ...] = ("round:1",)
    member_fraction: float = 0.4
    nonmember_fraction: float = 0.3
    families: tuple[str, ...] | None = None
    seed: int = 0
    data_dir: str | None = None
    smoke: bool = False

    def __post_init__(self):
        _validate.one_of("dataset", self.dataset, data.DATASETS)
        _validate.one_of("model", self.model, models.MODELS)
        _validate.positive("epochs", self.epochs)
        _validate.positive("batch_size", self.batch_size)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.positive("l2", self.l2, allow_zero=True)
        _validate.in_range("member_fraction", self.member_fraction, 0.01, 0.98)
        _validate.in_range("nonmember_fraction", self.nonmember_fraction, 0.0, 0.98)
        if self.member_fraction + self.nonmember_fraction >= 1.0:
            raise ValueError(
                "Expected member_fraction + nonmember_fraction < 1 (the rest is test data);"
                f" got {self.member_fraction} + {self.nonmember_fraction}.")
        for spec in self.defenses:
            oracles.parse_defense(spec)
        if self.families is not None:
            for f in self.families:
                _validate.one_of("family", f, _suite.FAMILIES)

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _train_target(key, ds: "data.Dataset", idx, config: RunConfig, l2: float, units: pathlib.Path,
                  name: str, model: models.Model):
    path = units / f"{name}.msgpack"
    tc = training.TrainConfig(epochs=config.epochs, batch_size=config.batch_size,
                              progress=not config.smoke)
    hyper = training.Hyper(learning_rate=config.learning_rate, l2=l2)
    template = model.init(jax.random.key(0), jnp.zeros((1, ds.num_features)))
    if path.exists():
        return flax.serialization.from_bytes(template, path.read_bytes()), tc, hyper
    params, _ = training.fit(key, model, ds.x[idx], ds.y[idx], tc, hyper)
    params = jax.device_get(params)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(flax.serialization.to_bytes(params))
    tmp.replace(path)
    return params, tc, hyper




def _utility(model, params, ds: data.Dataset, split: data.Split) -> dict[str, float]:
    probs_tr = np.asarray(training.predict_proba(model.apply, params, ds.x[split.members]))
    probs_te = np.asarray(training.predict_proba(model.apply, params, ds.x[split.test]))
    return {
        "train_accuracy": metrics.accuracy(probs_tr.argmax(1), ds.y[split.members]),
        "test_accuracy": metrics.accuracy(probs_te.argmax(1), ds.y[split.test]),
        "test_ece": metrics.expected_calibration_error(probs_te, ds.y[split.test]),
    }


def run_audit(config: RunConfig, out_dir: str | pathlib.Path) -> dict[str, Any]:
    """Runs the main job and writes ``results.json`` and ``report.md`` in ``out_dir``.

    Returns:
      The results dictionary (also in ``results.json``).
    """
    out_dir = pathlib.Path(out_dir)
    units = out_dir / "units"
    units.mkdir(parents=True, exist_ok=True)
    stamp = units / "config.json"
    if stamp.exists() and load_json(stamp).get("fingerprint") != config.fingerprint():
        # A different config: start over rather than mix results.
        for f in units.iterdir():
            f.unlink()
    save_json(stamp, {"fingerprint": config.fingerprint(), "config": config})

    t0 = time.time()
    root = jax.random.key(config.seed)
    ds = data.load(config.dataset, data_dir=config.data_dir)
    if config.smoke and len(ds) > 600:
        keep = np.asarray(jax.random.permutation(jax.random.fold_in(root, 99), len(ds)))[:600]
        ds = ds.subset(np.sort(keep))
    n = len(ds)
    n_mem = int(config.member_fraction * n)
    n_non = int(config.nonmember_fraction * n)
    split = data.split(jax.random.fold_in(root, 1), n, n_members=n_mem,
                       n_nonmembers=n_non, n_test=n - n_mem - n_non,
                       stratify=ds.y if ds.num_classes else None)
    model = models.make_model(config.model, num_features=ds.num_features,
                              num_classes=ds.num_classes, hidden=config.hidden,
                              activation=config.activation, image_shape=ds.image_shape)
    params, tc, hyper = _train_target(jax.random.fold_in(root, 2), ds, split.members, config,
                                      0.0, units, "target", model)
    dparams, _, _ = _train_target(jax.random.fold_in(root, 2), ds, split.members, config,
                                  config.l2, units, "target_l2", model)
    defenses = tuple(oracles.parse_defense(s) for s in config.defenses)
    results: dict[str, Any] = {
        "config": dataclasses.asdict(config),
        "dataset": {"name": ds.name, "rows": n, "features": ds.num_features,
                    "classes": ds.num_classes, "members": n_mem, "nonmembers": n_non,
                    "test": int(split.test.size)},
        "targets": {
            "undefended": {"model": config.model, "l2": 0.0,
                           **_utility(model, params, ds, split)},
            "defended": {"model": config.model, "l2": config.l2,
                         "output_defenses": list(config.defenses),
                         **_utility(model, dparams, ds, split)},
        },
        "l2_convention": "loss penalty l2/2 * sum of squared kernel weights "
                         "(not decoupled weight decay)",
        "rows": [],
    }
    families = config.families if config.families is not None else tuple(_suite.FAMILIES)
    for fam in families:
        unit = units / f"family_{fam}.json"
        if unit.exists():
            rows = load_json(unit)
        else:
            ctx = AuditContext(
                key=jax.random.fold_in(root, 1000 + sorted(_suite.FAMILIES).index(fam)),
                dataset=ds, split=split, model=model, params=params,
                defended_params=dparams, defenses=defenses, train_config=tc, hyper=hyper,
                out_dir=out_dir, smoke=config.smoke, progress=not config.smoke)
            rows = _suite.family_runner(fam)(ctx)
            save_json(unit, rows)
        results["rows"].extend(rows)
    results["seconds"] = time.time() - t0
    save_json(out_dir / "results.json", results)
    from jaxpriv.report import write_markdown

    write_markdown(results, out_dir / "report.md")
    return results
