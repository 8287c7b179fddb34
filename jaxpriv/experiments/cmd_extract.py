"""``jaxpriv extract``: reproduce the model-extraction cases of Tramèr et al. (2016)."""

from __future__ import annotations

import argparse

HELP = ("Steal models through prediction APIs (Tramèr et al. 2016): equation solving, Newton, "
        "tree path finding, label-only, rounding, AT&T faces; prints fidelity and queries.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaxpriv.experiments.suite_extraction import CASES

    p.add_argument("cases", nargs="*", default=["binary_lr_digits"],
                   help=f"cases to run (default: binary_lr_digits); any of: {', '.join(CASES)}"
                        " or 'all'")
    p.add_argument("--data-dir", default=None,
                   help="folder with the shared data sets (default: $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (for tests)")


def _print(name: str, result) -> None:
    rows = result if isinstance(result, list) else [result]
    print(f"== {name}")
    for row in rows:
        flat = {k: v for k, v in row.items() if not hasattr(v, "shape")}
        print("  " + ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in flat.items()))


def main(args: argparse.Namespace) -> int:
    import jax

    from jaxpriv.experiments.suite_extraction import CASES, run_case
    from jaxpriv.results import save_json

    names = list(CASES) if args.cases == ["all"] else args.cases
    results = {}
    for i, name in enumerate(names):
        res = run_case(name, jax.random.fold_in(jax.random.key(args.seed), i),
                       data_dir=args.data_dir, smoke=args.smoke)
        if isinstance(res, dict):
            res.pop("mi_face_images", None)
        results[name] = res
        _print(name, res)
        if args.out:  # keep finished cases if a later one is interrupted
            save_json(args.out, results)
    if args.out:
        print(f"wrote {args.out}")
    return 0
