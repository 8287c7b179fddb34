"""``jaxpriv sweep``: train targets over a grid of one defence's hyperparameter."""

from __future__ import annotations

import argparse

HELP = ("Train targets over a grid of one defence's hyperparameter as one vmapped program, "
        "attack every setting, write a privacy-utility table and plot.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaxpriv import data
    from jaxpriv.experiments.sweep import DEFENSES

    p.add_argument("--defense", default="mid", help=f"one of: {', '.join(DEFENSES)}")
    p.add_argument("--values", default=None,
                   help="comma-separated grid, e.g. 0,1e-3,1e-2,1e-1 (default: the config's)")
    p.add_argument("--logspace", default=None, metavar="LO,HI,NUM",
                   help="a log-spaced grid 10^LO..10^HI with NUM points (instead of --values)")
    p.add_argument("--dataset", default=None,
                   help=f"one of: {', '.join(data.DATASETS)} (default: att_faces; digits with "
                        "--smoke)")
    p.add_argument("--model", default=None, help="target architecture for dp/l2/round")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--chunk-size", type=int, default=None,
                   help="settings trained per program (default: all)")
    p.add_argument("--out", default="results/sweep", help="results folder")
    p.add_argument("--data-dir", default=None, help="shared data (default: $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (tests)")
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="multi-process run: jax.distributed coordinator address")
    p.add_argument("--num-processes", type=int, default=None)
    p.add_argument("--process-id", type=int, default=None)


def _grid(args) -> tuple[float, ...] | None:
    import numpy as np

    if args.values and args.logspace:
        raise ValueError("Expected either --values or --logspace, not both.")
    if args.values:
        return tuple(float(v) for v in args.values.split(",") if v.strip())
    if args.logspace:
        parts = args.logspace.split(",")
        if len(parts) != 3:
            raise ValueError(f"Expected --logspace LO,HI,NUM; got {args.logspace!r}.")
        return tuple(float(v) for v in np.logspace(float(parts[0]), float(parts[1]),
                                                   int(parts[2])))
    return None


def main(args: argparse.Namespace) -> int:
    if args.coordinator:
        import jax

        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    from jaxpriv.experiments import sweep

    kw = dict(defense=args.defense, seed=args.seed, data_dir=args.data_dir)
    for name in ("dataset", "model", "steps", "batch_size", "learning_rate", "chunk_size"):
        v = getattr(args, name)
        if v is not None:
            kw[name] = v
    grid = _grid(args)
    if grid is not None:
        kw["values"] = grid
    config = sweep.smoke_config(**kw) if args.smoke else sweep.SweepConfig(**kw)
    res = sweep.run_sweep(config, args.out)
    import jax

    if jax.process_index() == 0:
        with open(f"{args.out}/table.md") as f:
            print(f.read(), end="")
        print(f"{len(res['rows'])} settings ({len(res['computed'])} computed now) on "
              f"{res['devices']} device(s), {res['processes']} process(es); wrote "
              f"{args.out}/table.csv, table.md, privacy_utility.png")
    return 0
