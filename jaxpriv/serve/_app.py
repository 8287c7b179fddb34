"""A prediction-API server over a saved target (FastAPI), the way a cloud ML
service exposes a model: API keys, per-key query counts, budgets and rate
limits, a price per query, request-size limits and output defences.

Endpoints (JSON; the key in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``):

- ``GET /v1/health``: liveness, no key.
- ``GET /v1/info``: input shape, number of classes, output kind, the output
  defences (as ``jaxpriv.oracles.parse_defense`` specs), price, limits and the
  caller's usage.
- ``POST /v1/predict`` with ``{"inputs": [[x11, ..., x1d], ...]}``: the
  defended outputs, ``{"outputs": [...], "kind": ..., "queries": n, "usage": {...}}``.
- ``GET /v1/usage``: the caller's requests, queries (rows), rejected requests,
  spend and remaining budget.

Every bad request gets a 4xx JSON ``{"error": message}``: 400 malformed JSON,
wrong shape, non-numeric or non-finite values; 401 missing key; 403 unknown
key; 402 budget exhausted; 404/405 unknown route or method; 413 body or row
count over the limits; 429 rate limit (with ``Retry-After``). Only answered
rows count as queries.

The model answers through the same output defences as
:class:`jaxpriv.oracles.Oracle` (its ``pure_fn``, jitted); batches are padded
to powers of two so the server compiles a handful of programs, not one per
request size.
"""


import dataclasses
import json
import math
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate, io, oracles

__all__ = ["KeyPolicy", "ServeConfig", "Usage", "make_app", "oracle_for"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyPolicy:
    """One API key and its limits.

    Attributes:
      key: the secret the client sends.
      name: a label for logs and usage reports.
      budget: the most rows this key may query (``None``: unlimited).
      rate: sustained requests per second (``None``: unlimited).
      burst: requests allowed at once above the sustained rate.
      defenses: this key's output defences (``None``: the server's), e.g. a
        trusted tier that sees full probabilities.
    """

    key: str = dataclasses.field(repr=False)  # a secret: kept out of logs
    name: str = ""
    budget: int | None = None
    rate: float | None = None
    burst: int = 10
    defenses: tuple[str, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.key, str) or len(self.key) < 8:
            raise ValueError(f"Expected an API key of at least 8 characters; got "
                             f"{len(self.key) if isinstance(self.key, str) else self.key!r}.")
        if self.budget is not None:
            _validate.positive("budget", self.budget, allow_zero=True)
        if self.rate is not None:
            _validate.positive("rate", self.rate)
        _validate.positive("burst", self.burst)
        if self.defenses is not None:
            if isinstance(self.defenses, (str, list)):
                object.__setattr__(self, "defenses", tuple(
                    [self.defenses] if isinstance(self.defenses, str) else self.defenses))
            for spec in self.defenses:
                oracles.parse_defense(spec)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """Settings of the server.

    Attributes:
      keys: the API keys (at least one).
      defenses: output defences as specs (``"round:2"``, ``"top_k:1"``...).
      price_per_query: price of one answered row (reported, e.g. in dollars).
      max_rows: most rows in one request.
      max_body_bytes: largest request body.
      seed: PRNG seed of randomised defences (noise).
    """

    keys: tuple[KeyPolicy, ...]
    defenses: tuple[str, ...] = ()
    price_per_query: float = 0.0
    max_rows: int = 1024
    max_body_bytes: int = 4 * 1024 * 1024
    seed: int = 0

    def __post_init__(self):
        if not self.keys:
            raise ValueError("Expected at least one API key in keys; got none.")
        names = [k.key for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError("Expected distinct API keys; got duplicates.")
        for spec in self.defenses:
            oracles.parse_defense(spec)
        _validate.positive("price_per_query", self.price_per_query, allow_zero=True)
        _validate.positive("max_rows", self.max_rows)
        _validate.positive("max_body_bytes", self.max_body_bytes)


@dataclasses.dataclass
class Usage:
    """Per-key counters (mutated only under the server's lock)."""

    name: str
    budget: int | None
    requests: int = 0
    queries: int = 0
    rejected: int = 0
    tokens: float = 0.0
    last: float = dataclasses.field(default_factory=time.monotonic)

    def as_dict(self, price: float) -> dict[str, Any]:
        return {"name": self.name, "requests": self.requests, "queries": self.queries,
                "rejected": self.rejected, "budget": self.budget,
                "remaining": None if self.budget is None else self.budget - self.queries,
                "spent": self.queries * price}


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def oracle_for(saved: io.SavedModel, defenses: tuple[str, ...] = ()) -> oracles.Oracle:
    """The in-process oracle the server answers with (same defences)."""
    if saved.apply_fn is None or saved.stacked is not None:
        raise ValueError("Expected a saved single target with a known architecture (kind "
                         f"'flax' or 'tree', not stacked); got kind={saved.kind!r}, "
                         f"stacked={saved.stacked}.")
    num_features = saved.spec.get("num_features")
    if num_features is None and saved.kind == "tree":
        num_features = int(saved.meta.get("num_features", 0)) or None
    return oracles.Oracle.from_model(
        saved.apply_fn, saved.params, defenses=[oracles.parse_defense(s) for s in defenses],
        input_shape=None if num_features is None else (int(num_features),), name="served")


def _bucket(n: int) -> int:
    return max(8, 1 << (n - 1).bit_length())


def _parse_inputs(body: bytes, width: int | None, max_rows: int,
                  min_width: int = 1) -> np.ndarray:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HTTPError(400, f"malformed JSON: {e}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise HTTPError(400, 'expected a JSON object {"inputs": [[...], ...]}; got '
                             f"{type(payload).__name__}" + (
                                 f" with keys {sorted(payload)}" if isinstance(payload, dict)
                                 else ""))
    extra = sorted(set(payload) - {"inputs"})
    if extra:
        raise HTTPError(400, f"unknown field(s) {extra}; known: ['inputs']")
    rows = payload["inputs"]
    if not isinstance(rows, list) or not rows:
        raise HTTPError(400, "expected inputs to be a non-empty list of rows")
    if len(rows) > max_rows:
        raise HTTPError(413, f"too many rows: {len(rows)} > max_rows={max_rows}")
    if not all(isinstance(r, list) for r in rows):
        raise HTTPError(400, "expected inputs to be a list of rows, each a list of numbers")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for r in rows for v in r):
        raise HTTPError(400, "expected every input value to be a number")
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise HTTPError(400, f"expected rows of equal length; got lengths {sorted(lengths)[:5]}")
    d = lengths.pop()
    if width is not None and d != width:
        raise HTTPError(400, f"expected rows of {width} features; got {d}")
    if d < min_width:
        raise HTTPError(400, f"expected rows of at least {min_width} features (the model "
                             f"reads feature {min_width - 1}); got {d}")
    try:
        x = np.asarray(rows, dtype=np.float64)
    except (OverflowError, ValueError) as e:
        raise HTTPError(400, f"inputs are not numbers: {e}") from None
    if not np.all(np.isfinite(x)) or np.any(np.abs(x) > np.finfo(np.float32).max):
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise HTTPError(400, f"expected finite inputs; got {bad} NaN/inf (or float32-overflow) "
                             "values")
    return x.astype(np.float32)


def make_app(saved: io.SavedModel | str, config: ServeConfig):
    """The FastAPI application serving ``saved`` under ``config``.

    Args:
      saved: a :class:`jaxpriv.io.SavedModel` or the path of one.
      config: keys, defences, price and limits.

    Returns:
      A FastAPI app; run it with ``uvicorn.run(app, host=..., port=...)`` or
      ``jaxpriv serve MODEL``. ``app.state.usage`` maps key -> :class:`Usage`.
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    if not isinstance(saved, io.SavedModel):
        saved = io.load_model(saved)
    root = jax.random.key(config.seed)
    num_classes = int(saved.spec.get("num_classes", 0)) or None
    policies = {k.key: k for k in config.keys}
    specs = {k.key: config.defenses if k.defenses is None else k.defenses for k in config.keys}
    served = {}  # defence specs -> (oracle, jitted pure_fn): one program per tier
    for spec in dict.fromkeys(specs.values()):
        o = oracle_for(saved, spec)
        served[spec] = (o, jax.jit(o.pure_fn))
    oracle = served[specs[config.keys[0].key]][0]
    width = oracle.input_shape[0] if oracle.input_shape else None
    # A tree saved without its input width still rejects rows too narrow to route.
    min_width = int(saved.spec.get("min_features", 1))
    if width is not None:  # compile the smallest bucket now, not on the first request
        for _, fn in served.values():
            fn(root, jnp.zeros((8, width), jnp.float32)).block_until_ready()
    usage = {k.key: Usage(name=k.name or f"key{i}", budget=k.budget,
                          tokens=float(k.burst)) for i, k in enumerate(config.keys)}
    lock = threading.Lock()
    counter = [0]

    app = FastAPI(title="jaxpriv prediction API", version="1")
    app.state.usage = usage
    app.state.oracles = {spec: o for spec, (o, _) in served.items()}

    def error(status: int, message: str, headers: dict | None = None):
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(HTTPError)
    async def _http_error(request, exc: HTTPError):
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette(request, exc):
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc):
        return error(400, f"bad request: {exc.errors()}")

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # never crash; say what happened
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    def authenticate(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else \
            request.headers.get("x-api-key", "").strip()
        if not key:
            raise HTTPError(401, "missing API key (send 'Authorization: Bearer KEY' or "
                                 "'X-API-Key: KEY')", {"WWW-Authenticate": "Bearer"})
        if key not in usage:
            raise HTTPError(403, "unknown API key")
        return key

    def rate_limit(key_usage: Usage, policy: KeyPolicy) -> None:
        if policy.rate is None:
            return
        now = time.monotonic()
        key_usage.tokens = min(policy.burst, key_usage.tokens + (now - key_usage.last)
                               * policy.rate)
        key_usage.last = now
        if key_usage.tokens < 1.0:
            wait = (1.0 - key_usage.tokens) / policy.rate
            key_usage.rejected += 1
            raise HTTPError(429, f"rate limit: {policy.rate:g} requests/s (burst "
                                 f"{policy.burst}); retry in {wait:.2f} s",
                            {"Retry-After": str(max(1, math.ceil(wait)))})
        key_usage.tokens -= 1.0

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                raise HTTPError(400, f"bad Content-Length {length!r}") from None
            if n > config.max_body_bytes:
                raise HTTPError(413, f"request body of {n} bytes > max_body_bytes="
                                     f"{config.max_body_bytes}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body_bytes:
                raise HTTPError(413, f"request body over max_body_bytes="
                                     f"{config.max_body_bytes}")
            chunks.append(chunk)
        return b"".join(chunks)

    @app.get("/v1/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/info")
    async def info(request: Request):
        key = authenticate(request)
        u, o = usage[key], served[specs[key]][0]
        return {"input_shape": list(o.input_shape or []), "num_classes": num_classes,
                "kind": o.kind, "raw": "probabilities", "defenses": list(specs[key]),
                "lossy": o.lossy, "price_per_query": config.price_per_query,
                "max_rows": config.max_rows, "max_body_bytes": config.max_body_bytes,
                "model": saved.spec, "usage": u.as_dict(config.price_per_query)}

    @app.get("/v1/usage")
    async def get_usage(request: Request):
        return usage[authenticate(request)].as_dict(config.price_per_query)

    @app.post("/v1/predict")
    async def predict(request: Request):
        key = authenticate(request)
        u, policy = usage[key], policies[key]
        o, fn = served[specs[key]]
        try:
            with lock:
                rate_limit(u, policy)
            body = await read_body(request)
            x = _parse_inputs(body, width, config.max_rows, min_width)
            n = x.shape[0]
            with lock:
                if u.budget is not None and u.queries + n > u.budget:
                    raise HTTPError(402, f"query budget exhausted: {u.queries} used + {n} asked"
                                         f" > budget={u.budget}")
                counter[0] += 1
                req_id = counter[0]
                u.queries += n  # reserve; given back if the model fails
                u.requests += 1
        except HTTPError as e:
            if e.status != 429:
                with lock:
                    u.rejected += 1
            raise
        try:
            b = _bucket(n)
            xp = np.zeros((b, x.shape[1]), np.float32)
            xp[:n] = x
            out = np.asarray(fn(jax.random.fold_in(root, req_id), jnp.asarray(xp)))[:n]
        except Exception:
            with lock:
                u.queries -= n
                u.requests -= 1
            raise
        return {"outputs": out.tolist(), "kind": o.kind, "queries": n,
                "cost": n * config.price_per_query,
                "usage": u.as_dict(config.price_per_query)}

    return app
