"""``jaxpriv infer``: membership inference against a freshly trained target,
or one of the Location paper reproductions."""

from __future__ import annotations

import argparse
import pathlib

HELP = ("Membership inference: train a target, run Shokri / threshold / LiRA / label-only "
        "attacks (or --reproduce a Location experiment), write results.json and ROC PNGs.")

REPRODUCTIONS = ("overfitting", "mitigations", "lira")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaxpriv import data, models

    p.add_argument("--dataset", default="digits",
                   help=f"one of: {', '.join(data.DATASETS)} (default: digits, bundled)")
    p.add_argument("--model", default="mlp", help=f"one of: {', '.join(models.MODELS)}")
    p.add_argument("--hidden", default="64", help="hidden widths, comma-separated (default 64)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--l2", type=float, default=1e-2,
                   help="L2 loss penalty of the defended target (l2/2 * |w|^2)")
    p.add_argument("--defense", action="append", default=None,
                   help="output defence of the defended oracle, e.g. round:1, top_k:3, "
                        "label_only, temperature:5 (repeatable; default round:1)")
    p.add_argument("--attacks", default=None,
                   help="comma-separated subset of: shokri, threshold, lira, gap, perturbation "
                        "(default: all)")
    p.add_argument("--reproduce", choices=REPRODUCTIONS, default=None,
                   help="run a Location reproduction of Shokri et al. 2017 / Carlini et al. "
                        "2022 instead (needs the shared data)")
    p.add_argument("--shadows", type=int, default=64, help="shadow models for --reproduce lira")
    p.add_argument("--out", default="results/infer", help="results folder")
    p.add_argument("--data-dir", default=None, help="shared data folder (default: $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (for tests)")


def main(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from jaxpriv import data, models, oracles, training
    from jaxpriv.attacks import membership as mia
    from jaxpriv.experiments import suite_membership
    from jaxpriv.experiments._context import AuditContext
    from jaxpriv.report import rows_table
    from jaxpriv.results import save_json

    from jaxpriv import _validate

    attacks = None
    if args.attacks:
        attacks = tuple(a.strip() for a in args.attacks.split(",") if a.strip())
        for a in attacks:
            _validate.one_of("attack", a, suite_membership.ATTACKS)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(args.seed)
    if args.reproduce is not None:
        ds = data.load("location", data_dir=args.data_dir)
        setup = mia.LocationSetup.smoke() if args.smoke else mia.LocationSetup()
        if args.reproduce == "overfitting":
            rows = mia.overfitting_sweep(key, ds, setup, (2, 8) if args.smoke else (2, 5, 15, 40, 100))
        elif args.reproduce == "mitigations":
            rows = mia.mitigation_table(key, ds, setup)
        else:
            res = mia.lira_location(key, ds, num_shadows=4 if args.smoke else args.shadows,
                                    num_targets=4 if args.smoke else 8,
                                    n_pool=400 if args.smoke else 3200,
                                    hidden=setup.hidden, epochs=5 if args.smoke else 30,
                                    progress=not args.smoke)
            rows = res["rows"]
            mia.plot_roc(res["curves"], out / "lira_roc.png", title="LiRA vs global threshold")
        save_json(out / "results.json", {"reproduce": args.reproduce, "rows": rows,
                                         "l2_convention": mia.L2_CONVENTION})
        print(rows_table(rows))
        print(f"wrote {out}/results.json")
        return 0

    ds = data.load(args.dataset, data_dir=args.data_dir)
    if args.smoke and len(ds) > 400:
        ds = ds.subset(np.sort(np.asarray(jax.random.permutation(key, len(ds)))[:400]))
    n = len(ds)
    n_mem, n_non = int(0.4 * n), int(0.3 * n)
    split = data.split(jax.random.fold_in(key, 1), n, n_members=n_mem, n_nonmembers=n_non,
                       n_test=n - n_mem - n_non)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    model = models.make_model(args.model, num_features=ds.num_features,
                              num_classes=ds.num_classes, hidden=hidden,
                              image_shape=ds.image_shape)
    tc = training.TrainConfig(epochs=2 if args.smoke else args.epochs, batch_size=32)
    hyper = training.Hyper(learning_rate=3e-3)
    xm, ym = ds.x[split.members], ds.y[split.members]
    params, _ = training.fit(jax.random.fold_in(key, 2), model, xm, ym, tc, hyper)
    dparams, _ = training.fit(jax.random.fold_in(key, 2), model, xm, ym, tc,
                              training.Hyper(learning_rate=3e-3, l2=args.l2))
    defenses = tuple(oracles.parse_defense(s) for s in (args.defense or ["round:1"]))
    ctx = AuditContext(key=jax.random.fold_in(key, 3), dataset=ds, split=split, model=model,
                       params=params, defended_params=dparams, defenses=defenses,
                       train_config=tc, hyper=hyper, out_dir=out, smoke=args.smoke,
                       progress=not args.smoke)
    if attacks:
        ctx.extra["membership_attacks"] = attacks
    rows = suite_membership.run(ctx)
    save_json(out / "results.json", {"dataset": ds.name, "rows": rows,
                                     "defended": {"l2": args.l2,
                                                  "output": [d.name for d in defenses]},
                                     "l2_convention": mia.L2_CONVENTION})
    print(rows_table([{k: v for k, v in r.items() if k != "images"} for r in rows]))
    print(f"wrote {out}/results.json and ROC plots")
    return 0
