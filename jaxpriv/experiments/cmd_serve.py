"""``jaxpriv serve MODEL``: a prediction API over a saved target (thin: options -> ServeConfig)."""

from __future__ import annotations

import argparse

HELP = ("Serve a saved target as a prediction API (FastAPI + uvicorn) with API keys, budgets, "
        "rate limits, a price per query and output defences.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a saved target (.jpm; `jaxpriv run` writes them under "
                                 "<out>/units/<run>/targets/)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--defense", action="append", default=[],
                   help="output defence spec, repeatable, applied in order (round:2, top_k:1, "
                        "label_only, temperature:5, gaussian_noise:0.01)")
    p.add_argument("--key", action="append", default=[],
                   help="API key as KEY[:BUDGET[:RATE]] (rows, requests/s); repeatable")
    p.add_argument("--keys-file", help="TOML with [[key]] tables: key, name, budget, rate, "
                                       "burst, defenses (this key's output defences)")
    p.add_argument("--price", type=float, default=0.0, help="price per answered row")
    p.add_argument("--max-rows", type=int, default=1024, help="most rows per request")
    p.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024,
                   help="largest request body")
    p.add_argument("--seed", type=int, default=0, help="seed of randomised defences")


def _keys(args) -> list:
    import secrets
    import tomllib

    from jaxpriv import _validate
    from jaxpriv.serve import KeyPolicy

    keys = []
    for spec in args.key:
        parts = spec.split(":")
        if len(parts) > 3:
            raise ValueError(f"Expected --key KEY[:BUDGET[:RATE]]; got {spec!r}.")
        budget = int(parts[1]) if len(parts) > 1 and parts[1] else None
        rate = float(parts[2]) if len(parts) > 2 and parts[2] else None
        keys.append(KeyPolicy(key=parts[0], budget=budget, rate=rate))
    if args.keys_file:
        with open(args.keys_file, "rb") as f:
            table = tomllib.load(f)
        _validate.known_keys(args.keys_file, table, ("key",))
        for i, t in enumerate(table.get("key", [])):
            _validate.known_keys(f"{args.keys_file} key[{i}]", t,
                                 ("key", "name", "budget", "rate", "burst", "defenses"))
            keys.append(KeyPolicy(**t))
    if not keys:
        key = secrets.token_urlsafe(24)
        print(f"jaxpriv serve: no --key given; generated API key: {key}", flush=True)
        keys.append(KeyPolicy(key=key, name="generated"))
    return keys


def main(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        raise ValueError(f"jaxpriv serve needs FastAPI and uvicorn ({e}); install them with "
                         "pip install -e '.[serve]'.") from None

    from jaxpriv.serve import ServeConfig, make_app

    config = ServeConfig(keys=tuple(_keys(args)), defenses=tuple(args.defense),
                         price_per_query=args.price, max_rows=args.max_rows,
                         max_body_bytes=args.max_body_bytes, seed=args.seed)
    app = make_app(args.model, config)
    print(f"jaxpriv serve: {args.model} on http://{args.host}:{args.port} "
          f"(defences: {', '.join(args.defense) or 'none'}; {len(config.keys)} key(s))",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
