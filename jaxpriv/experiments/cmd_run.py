"""``jaxpriv run [CONFIG]``: the main audit job (thin: options -> RunConfig -> run_audit)."""

from __future__ import annotations

import argparse

HELP = ("Train the target(s), run every attack family with and without defences, write "
        "results.json, the results table and the HTML/Markdown report.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", default=None,
                   help="TOML config (default: built-in defaults; see --print-config)")
    p.add_argument("--out", default="results/run", help="results folder (default: results/run)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes: built-in smoke defaults, then the config's [smoke] table")
    p.add_argument("--print-config", action="store_true",
                   help="print every option with its default and documentation, then exit")
    g = p.add_argument_group("overrides (win over the config file)")
    g.add_argument("--dataset", help="data set name (default: digits, bundled)")
    g.add_argument("--model", help="target architecture")
    g.add_argument("--data-dir", help="folder with the shared data sets (default: $JAXPRIV_DATA)")
    g.add_argument("--seed", type=int)
    g.add_argument("--epochs", type=int)
    g.add_argument("--max-rows", type=int, help="use at most this many rows")
    g.add_argument("--families", help="comma-separated attack families (default: all)")
    g.add_argument("--table", help="cross-run CSV table (default: <out>/results.csv)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    from jaxpriv.experiments import default_toml, load_config, run_audit

    if args.print_config:
        print(default_toml(), end="")
        return 0
    over = {k: getattr(args, a) for k, a in (
        ("dataset", "dataset"), ("model", "model"), ("data_dir", "data_dir"), ("seed", "seed"),
        ("epochs", "epochs"), ("max_rows", "max_rows"), ("table", "table"))
        if getattr(args, a) is not None}
    if args.families:
        over["families"] = [f.strip() for f in args.families.split(",") if f.strip()]
    if args.no_progress:
        over["progress"] = False
    config = load_config(args.config, smoke=args.smoke, overrides=over)
    results = run_audit(config, args.out)
    print(f"jaxpriv run: {config.model} on {config.dataset}: "
          + "; ".join(f"{k} test acc {v['test_accuracy']:.3f}"
                      for k, v in results["targets"].items())
          + f"; {len(results['rows'])} attack rows in {results['seconds']:.0f} s "
          f"({sum(u['resumed'] for u in results['units'])} units resumed).")
    print(f"  {args.out}/report.html, report.md, results.json, "
          f"{config.table or args.out + '/results.csv'}")
    print(f"  serve the target: jaxpriv serve {results['targets']['undefended']['file']}")
    for e in results.get("errors", []):
        print(f"  FAILED {e['unit']}: {e['error']} (the same command retries it)")
    return 1 if results.get("errors") else 0
