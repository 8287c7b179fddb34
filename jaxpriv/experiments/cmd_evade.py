"""``jaxpriv evade``: evasion attacks on a digits MLP (FGSM, PGD, CW L2, NES)."""

from __future__ import annotations

import argparse

HELP = "Run FGSM, PGD (Linf/L2), Carlini-Wagner L2 and black-box NES PGD on a digits MLP."


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaxpriv.experiments.suite_evasion import ATTACKS

    p.add_argument("--attacks", default=",".join(ATTACKS),
                   help=f"comma-separated, from: {', '.join(ATTACKS)} (default: all)")
    p.add_argument("--eps", default="0.05,0.1,0.2", help="L-inf radii (default 0.05,0.1,0.2)")
    p.add_argument("--eps-l2", default="0.5,1.0", help="L2 radii (default 0.5,1.0)")
    p.add_argument("--n", type=int, default=300, help="test inputs attacked (default 300)")
    p.add_argument("--n-targeted", type=int, default=50,
                   help="inputs for CW (x every other label) and NES (default 50)")
    p.add_argument("--steps", type=int, default=40, help="PGD steps (default 40)")
    p.add_argument("--hidden", default="64", help="MLP hidden widths (default 64)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--raw", action="store_true",
                   help="feed raw [0, 1] pixels (default: StandardScaler inside the model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")


def main(args: argparse.Namespace) -> int:
    import jax

    from jaxpriv.experiments.suite_evasion import evasion_study
    from jaxpriv.results import save_json

    attacks = tuple(a.strip() for a in args.attacks.split(",") if a.strip())
    rows, _ = evasion_study(jax.random.key(args.seed), attacks=attacks, eps=_floats(args.eps),
                            eps_l2=_floats(args.eps_l2), n=args.n, n_targeted=args.n_targeted,
                            steps=args.steps, hidden=tuple(int(h) for h in args.hidden.split(",")),
                            epochs=args.epochs, standardize=not args.raw)
    print(f"{'attack':<10} {'eps':>6} {'success':>8} {'acc_adv':>8} {'l2_mean':>8} "
          f"{'linf_mean':>9} {'queries':>8} {'seconds':>8}")
    for r in rows:
        acc = r.get("accuracy_under_attack")
        print(f"{r['attack']:<10} {r.get('eps', float('nan')):>6.3g} {r['success_rate']:>8.3f} "
              f"{'-' if acc is None else f'{acc:.3f}':>8} {r['l2_mean']:>8.3f} "
              f"{r['linf_mean']:>9.3f} {r['queries']:>8d} {r['seconds']:>8.2f}")
    if args.json:
        save_json(args.json, rows)
        print(f"wrote {args.json}")
    return 0
