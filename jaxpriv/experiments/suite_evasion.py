"""The evasion family of ``jaxpriv run``, and the digits targets of the evasion studies.

``run(ctx)`` attacks the audit's targets (undefended and defended) with FGSM,
PGD (L-infinity and L2), Carlini-Wagner L2 (every input against every other
label) and black-box NES PGD through the oracle (with the output defences on
the defended side), and returns one row per attack and target.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import data as jdata
from jaxpriv import models, training
from jaxpriv.attacks import evasion
from jaxpriv.oracles import Oracle


def _standardized_apply(apply_fn: Callable, params: Any, x: jax.Array) -> jax.Array:
    return apply_fn(params["net"], (x - params["mean"][None]) / params["std"][None])


def digits_target(key: jax.Array, *, hidden: tuple[int, ...] = (64,), epochs: int = 30,
                  standardize: bool = True, n_train: int = 1200, learning_rate: float = 1e-3
                  ) -> tuple[Callable, Any, jdata.Dataset, jdata.Dataset]:
    """A digits MLP to attack: ``(apply_fn, params, train, test)``.

    Inputs stay in ``[0, 1]`` (pixel / 16). With ``standardize`` the model's
    first step is scikit-learn's ``StandardScaler`` (per-pixel mean and
    standard deviation of the training rows, 1 where a pixel never varies),
    the usual digits pipeline; that makes the model far more sensitive to
    small pixel changes than one fed raw ``[0, 1]`` pixels.
    """
    ds = jdata.load_digits()
    s = jdata.split(jax.random.fold_in(key, 0), ds, n_members=n_train,
                    n_test=len(ds) - n_train, stratify=ds.y)
    train, test = ds.subset(s.members), ds.subset(s.test)
    model = models.make_model("mlp", num_features=64, num_classes=10, hidden=hidden)
    mean = train.x.mean(0) if standardize else np.zeros(64, np.float32)
    std = train.x.std(0) if standardize else np.ones(64, np.float32)
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    net, _ = training.fit(jax.random.fold_in(key, 1), model, (train.x - mean) / std, train.y,
                          training.TrainConfig(epochs=epochs, batch_size=32),
                          training.Hyper(learning_rate=learning_rate))
    params = {"net": net, "mean": jnp.asarray(mean, jnp.float32),
              "std": jnp.asarray(std, jnp.float32)}
    return functools.partial(_standardized_apply, model.apply), params, train, test


def _row(attack: str, target: str, res: evasion.EvasionResult, d: evasion.EvasionData,
         clean: float, seconds: float, **extra) -> dict:
    s = evasion.summarize(res, d)
    return {"attack": attack, "target": target, "clean_accuracy": clean, **extra, **s,
            "items": int(np.asarray(res.success).size), "seconds": seconds}


def run(ctx) -> list[dict]:
    """Evasion attacks on the audit's undefended and defended targets."""
    smoke = ctx.smoke
    test = ctx.test
    n = min(len(test), 40 if smoke else 300)
    n_cw = min(n, 5 if smoke else 20)
    n_nes = min(n, 10 if smoke else 50)
    x, y = test.x[:n], test.y[:n]
    lo, hi = float(min(0.0, ctx.dataset.x.min())), float(max(1.0, ctx.dataset.x.max()))
    scale = hi - lo
    clip = (lo, hi)
    eps = 0.1 * scale
    steps = 10 if smoke else 40
    rows = []
    key = ctx.key
    settings = [("undefended", ctx.params, False)]
    if ctx.defended_params is not None or ctx.defenses:
        settings.append(("defended", ctx.defended_params if ctx.defended_params is not None
                         else ctx.params, True))
    for target, params, defended in settings:
        wb = (ctx.model.apply, params)
        clean = float(np.mean(np.asarray(jnp.argmax(ctx.model.apply(params, x), -1)) == y))
        d = evasion.EvasionData(x, y)
        for attack, fn, cfg in [
            ("fgsm", evasion.fgsm, evasion.FGSMConfig(eps=eps, clip=clip)),
            ("pgd_linf", evasion.pgd, evasion.PGDConfig(eps=eps, steps=steps, clip=clip)),
            ("pgd_l2", evasion.pgd, evasion.PGDConfig(norm="l2", eps=1.0 * scale, steps=steps,
                                                      clip=clip)),
        ]:
            t0 = time.time()
            res = jax.block_until_ready(fn(jax.random.fold_in(key, len(rows)), wb, d, cfg))
            rows.append(_row(attack, target, res, d, clean, time.time() - t0,
                             eps=float(np.max(cfg.eps)), norm=cfg.norm))
        dt = evasion.EvasionData(x[:n_cw], y[:n_cw],
                                 evasion.all_targets(y[:n_cw], ctx.dataset.num_classes))
        t0 = time.time()
        cw = jax.block_until_ready(evasion.carlini_wagner_l2(
            key, wb, dt, evasion.CWConfig(steps=30 if smoke else 100,
                                          search_steps=3 if smoke else 6, clip=clip)))
        rows.append(_row("carlini_wagner_l2", target, cw, dt, clean, time.time() - t0,
                         targeted=True))
        oracle = ctx.oracle(defended=defended)
        if oracle.kind in ("probabilities", "topk"):
            dn = evasion.EvasionData(x[:n_nes], y[:n_nes])
            t0 = time.time()
            nes = jax.block_until_ready(evasion.pgd_nes(
                jax.random.fold_in(key, 99), oracle, dn,
                evasion.NESConfig(eps=eps, steps=5 if smoke else 20,
                                  samples=5 if smoke else 10, clip=clip)))
            rows.append(_row("pgd_nes", target, nes, dn, clean, time.time() - t0, eps=eps,
                             oracle=oracle.describe()))
        if ctx.dataset.image_shape is not None and target == "undefended":
            _picture(ctx, x[:n_cw], cw, res, rows)
    return rows


def _picture(ctx, x, cw, pgd_l2, rows):
    from jaxpriv.report import image_grid

    shape = tuple(ctx.dataset.image_shape)
    k = min(6, x.shape[0])
    first = np.asarray(cw.x_adv)[:k, 0]
    path = image_grid(ctx.out_dir / "evasion_examples.png", [
        ("clean", x[:k].reshape((k,) + shape)),
        ("CW L2 -> 1st target", first.reshape((k,) + shape)),
        ("PGD L2", np.asarray(pgd_l2.x_adv)[:k].reshape((k,) + shape)),
    ], title="evasion examples")
    for r in rows:
        if r["attack"] == "carlini_wagner_l2":
            r["images"] = [{"title": "evasion examples", "path": str(path)}]
            break


ATTACKS = ("fgsm", "pgd_linf", "pgd_l2", "cw_l2", "pgd_nes")


def evasion_study(key: jax.Array, *, attacks=ATTACKS, eps=(0.05, 0.1, 0.2), eps_l2=(0.5, 1.0),
                  n: int = 300, n_targeted: int = 50, steps: int = 40, hidden=(64,),
                  epochs: int = 30, standardize: bool = True, nes_samples: int = 20,
                  nes_steps: int = 40) -> tuple[list[dict], dict]:
    """Every evasion attack on a digits MLP (see :func:`digits_target`).

    Returns:
      ``(rows, examples)``: one row per attack and epsilon (success rate,
      accuracy under attack, perturbation norms, queries, seconds including
      compilation), and ``examples``: attack name -> ``x_adv`` of the first
      inputs for pictures (``"clean"`` holds the inputs).
    """
    for a in attacks:
        if a not in ATTACKS:
            raise ValueError(f"Unknown attack={a!r}; expected one of: {', '.join(ATTACKS)}.")
    apply_fn, params, _, test = digits_target(jax.random.fold_in(key, 0), hidden=hidden,
                                              epochs=epochs, standardize=standardize)
    x, y = test.x[:n], test.y[:n]
    wb = (apply_fn, params)
    clean = float(np.mean(np.asarray(jnp.argmax(apply_fn(params, x), -1)) == y))
    d = evasion.EvasionData(x, y)
    eps, eps_l2 = tuple(float(e) for e in eps), tuple(float(e) for e in eps_l2)
    rows, examples = [], {"clean": x[:8]}

    def add(name, res, data, seconds, eps_values=None, **extra):
        s = evasion.summarize(res, data)
        if eps_values is None:
            rows.append({"attack": name, "target": "undefended", "clean_accuracy": clean,
                         **extra, **s, "seconds": seconds})
            return
        for i, e in enumerate(eps_values):
            rows.append({"attack": name, "target": "undefended", "clean_accuracy": clean,
                         "eps": e, **extra, **{k: v[i] if isinstance(v, list) else v
                                               for k, v in s.items()}, "seconds": seconds})

    for name in attacks:
        k = jax.random.fold_in(key, ATTACKS.index(name) + 1)
        t0 = time.time()
        if name == "fgsm":
            res = evasion.fgsm(k, wb, d, evasion.FGSMConfig(eps=eps))
            add(name, jax.block_until_ready(res), d, time.time() - t0, eps, norm="linf")
            examples[name] = np.asarray(res.x_adv)[list(eps).index(max(eps))][:8]
        elif name in ("pgd_linf", "pgd_l2"):
            norm = name[4:]
            ev = eps if norm == "linf" else eps_l2
            res = evasion.pgd(k, wb, d, evasion.PGDConfig(norm=norm, eps=ev, steps=steps))
            add(name, jax.block_until_ready(res), d, time.time() - t0, ev, norm=norm)
            examples[name] = np.asarray(res.x_adv)[-1][:8]
        elif name == "cw_l2":
            dt = evasion.EvasionData(x[:n_targeted], y[:n_targeted],
                                     evasion.all_targets(y[:n_targeted], 10))
            res = evasion.carlini_wagner_l2(k, wb, dt, evasion.CWConfig())
            add(name, jax.block_until_ready(res), dt, time.time() - t0, targeted=True)
            examples[name] = np.asarray(res.x_adv)[:8, 0]
        else:
            oracle = Oracle.from_model(apply_fn, params, input_shape=(64,))
            dn = evasion.EvasionData(x[:n_targeted], y[:n_targeted])
            res = evasion.pgd_nes(k, oracle, dn, evasion.NESConfig(
                eps=0.1, steps=nes_steps, samples=nes_samples))
            add(name, jax.block_until_ready(res), dn, time.time() - t0, eps=0.1, norm="linf")
            examples[name] = np.asarray(res.x_adv)[:8]
    return rows, examples
