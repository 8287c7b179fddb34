"""``jaxpriv invert``: model inversion (Fredrikson et al. 2014, 2015). Thin: parses
options, calls ``jaxpriv.attacks.inversion`` and writes JSON (and a PNG)."""

from __future__ import annotations

import argparse
import pathlib

HELP = ("Model inversion: MI-Face on image targets (faces/digits), decision-tree inversion "
        "(steak survey), linear-model inversion (warfarin).")

ATTACKS = ("mi_face", "tree", "linear")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attack", default="mi_face", choices=ATTACKS,
                   help="mi_face (default), tree (steak survey table) or linear (warfarin)")
    p.add_argument("--dataset", default=None,
                   help="mi_face: digits (default, bundled) or att_faces; tree: steak_survey; "
                        "linear: warfarin")
    p.add_argument("--targets", default="softmax,mlp,dae",
                   help="mi_face: comma-separated face targets (softmax, mlp, dae)")
    p.add_argument("--splits", type=int, default=10,
                   help="tree/linear: random member/non-member splits to average over")
    p.add_argument("--max-depth", type=int, default=None, help="tree: depth cap of the target")
    p.add_argument("--placement", default=None, choices=("top", "bottom"),
                   help="tree: force the sensitive feature at the root or the last level")
    p.add_argument("--out", default="results/invert", help="output folder")
    p.add_argument("--data-dir", default=None,
                   help="folder with the shared data sets (default: $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (for tests)")


def main(args: argparse.Namespace) -> int:
    import jax

    from jaxpriv import data
    from jaxpriv.attacks import inversion
    from jaxpriv.results import save_json

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(args.seed)
    if args.attack == "mi_face":
        ds = data.load(args.dataset or "digits", data_dir=args.data_dir)
        targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
        res = inversion.faces_study(key, ds, targets=targets, smoke=args.smoke,
                                    png=str(out / "mi_face.png"), progress=not args.smoke)
        res = {k: v for k, v in res.items()
               if k not in ("reconstructions", "targets", "identifiers", "evaluator_index")}
        for r in res["rows"]:
            print(f"{r['target']:8s} {r['process']:18s} identified "
                  f"{r['identified_standardized']:.0%} (standardized) / "
                  f"{r['identified_raw']:.0%} (raw), SSIM {r['ssim']:.3f}")
    elif args.attack == "tree":
        ds = data.load(args.dataset or "steak_survey", data_dir=args.data_dir)
        res = inversion.steak_study(key, ds, num_splits=2 if args.smoke else args.splits,
                                    max_depth=args.max_depth, placement=args.placement,
                                    progress=not args.smoke)
        for r in res["rows"]:
            print(f"{r['attack']:9s} acc {r['accuracy']:.3f} prec {r['precision']:.3f} "
                  f"rec {r['recall']:.3f} | non-member prec {r['nonmember_precision']:.3f}")
    else:
        ds = data.load(args.dataset or "warfarin", data_dir=args.data_dir)
        res = inversion.warfarin_study(key, ds, num_splits=2 if args.smoke else args.splits)
        for r in res["rows"]:
            print(f"{r['attack']:9s} member acc {r['member_accuracy']:.3f} non-member acc "
                  f"{r['nonmember_accuracy']:.3f}")
    path = save_json(out / f"{args.attack}.json", res)
    print(f"wrote {path}")
    return 0
