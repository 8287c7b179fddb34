"""The ``jaxpriv`` command. Thin: parses options and calls the library.

Subcommands live in modules listed in ``SUBCOMMANDS``; each defines
``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

SUBCOMMANDS: dict[str, str] = {
    "run": "jaxpriv.experiments.cmd_run",
    "invert": "jaxpriv.experiments.cmd_invert",
    "serve": "jaxpriv.experiments.cmd_serve",
    "sweep": "jaxpriv.experiments.cmd_sweep",
    "infer": "jaxpriv.experiments.cmd_infer",
    "evade": "jaxpriv.experiments.cmd_evade",
    "leak": "jaxpriv.experiments.cmd_leakage",
    "extract": "jaxpriv.experiments.cmd_extract",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxpriv",
        description="A JAX engine for attacking and defending the privacy of ML models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod_name in SUBCOMMANDS.items():
        mod = importlib.import_module(mod_name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


# A comma-separated list that starts with a negative number, e.g. "-4,0,16".
_NEGATIVE_LIST = re.compile(r"^-[0-9.][^,]*,")


def _join_negative_lists(argv: list[str]) -> list[str]:
    """``--logspace -4,0,16`` as ``--logspace=-4,0,16``: argparse takes a value
    that starts with ``-`` (and is not a single number) for an option and
    stops with "expected one argument"; a comma list is never an option."""
    out: list[str] = []
    for tok in argv:
        if (out and _NEGATIVE_LIST.match(tok) and out[-1].startswith("--")
                and "=" not in out[-1]):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_negative_lists(sys.argv[1:] if argv is None else list(argv)))
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args._main(args) or 0)
    except (ValueError, FileNotFoundError) as e:
        print(f"jaxpriv {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\njaxpriv {args.command}: interrupted; finished results are kept on disk "
              "and the same command resumes.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
