"""``jaxpriv run``: the main audit job."""

from __future__ import annotations

import argparse
import dataclasses

HELP = "Train a target on a dataset, run the attack suite, write results.json and report.md."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaxpriv import data, models

    p.add_argument("--dataset", default="digits",
                   help=f"one of: {', '.join(data.DATASETS)} (default: digits, bundled)")
    p.add_argument("--model", default="mlp", help=f"one of: {', '.join(models.MODELS)}")
    p.add_argument("--out", default="results/run", help="results folder (default: results/run)")
    p.add_argument("--data-dir", default=None,
                   help="folder with the shared data sets (default: $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--families", default=None,
                   help="comma-separated attack families (default: all registered)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (for tests)")


def main(args: argparse.Namespace) -> int:
    from jaxpriv.experiments import RunConfig, run_audit

    kw = dict(dataset=args.dataset, model=args.model, seed=args.seed,
              data_dir=args.data_dir, smoke=args.smoke)
    if args.epochs is not None:
        kw["epochs"] = args.epochs
    if args.families:
        kw["families"] = tuple(f.strip() for f in args.families.split(",") if f.strip())
    if args.smoke:
        kw.setdefault("epochs", 3)
    config = RunConfig(**kw)
    results = run_audit(config, args.out)
    t = results["targets"]["undefended"]
    print(f"target {config.model} on {config.dataset}: train acc {t['train_accuracy']:.3f}, "
          f"test acc {t['test_accuracy']:.3f}; {len(results['rows'])} attack rows; "
          f"wrote {args.out}/results.json and {args.out}/report.md")
    return 0
