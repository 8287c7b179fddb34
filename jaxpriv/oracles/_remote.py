"""A black-box oracle over HTTP: the client of ``jaxpriv serve`` (or any server
speaking its API), so every black-box attack can target a URL.

:class:`RemoteOracle` is an :class:`Oracle`: ``query``, ``kind``, ``require``,
``queries``, ``charge``/``reserve``, ``budget`` behave the same. Its output
defences are the server's, read from ``/v1/info``. ``pure_fn`` exists too, as a
``jax.pure_callback`` that sends the rows to the server from inside a
compiled program (attacks that query in a ``while_loop`` or ``scan``, such as
equation-solving extraction, still work; like ``Oracle.pure_fn`` it does not
count, and those attacks ``charge`` what they sent).
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import _defenses as d
from jaxpriv.oracles._oracle import AccessError, Oracle, QueryBudgetExceeded


class RemoteError(RuntimeError):
    """The server refused a request (the message is the server's)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class RemoteOracle(Oracle):
    """Query access to a target behind a prediction API.

    Args:
      url: the server's base URL, e.g. ``"http://127.0.0.1:8000"``.
      api_key: the key sent as ``Authorization: Bearer``.
      budget: a client-side budget in rows (``None``: only the server's).
      timeout: seconds per HTTP request.
      retries: retries of a rate-limited (429) request, honouring ``Retry-After``.
      name: a label for reports.

    Example:
      >>> oracle = RemoteOracle("http://127.0.0.1:8000", api_key="secret-key")
      >>> oracle.require(PROBABILITIES, attack="threshold attack")
      >>> probs = oracle.query(x)        # counts x.shape[0] queries
    """

    def __init__(self, url: str, api_key: str, *, budget: int | None = None,
                 timeout: float = 30.0, retries: int = 5, name: str = "remote"):
        try:
            import httpx
        except ImportError as e:
            raise ImportError(f"RemoteOracle needs httpx ({e}); install it with "
                              "pip install -e '.[serve]'.") from None
        if budget is not None:
            _validate.positive("budget", budget, allow_zero=True)
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=timeout,
                                    headers={"Authorization": f"Bearer {api_key}"})
        self.retries = int(retries)
        info = self._request("GET", "/v1/info")
        self.info = info
        self.raw = "remote"
        self.defenses = tuple(d.parse_defense(s) for s in info["defenses"])
        self.kind = info["kind"]
        self.num_classes = info.get("num_classes")
        self.input_shape = tuple(info["input_shape"]) or None
        self.max_rows = int(info["max_rows"])
        self.price_per_query = float(info.get("price_per_query", 0.0))
        self.budget = budget
        self.name = name
        self.queries = 0
        self._key = jax.random.key(0)

    # -- HTTP ---------------------------------------------------------------
    def _request(self, method: str, path: str, payload: Any = None) -> dict:
        for attempt in range(self.retries + 1):
            r = self._client.request(method, path, json=payload)
            if r.status_code == 429 and attempt < self.retries:
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            if r.status_code >= 400:
                try:
                    msg = r.json().get("error", r.text)
                except ValueError:
                    msg = r.text
                if r.status_code == 402:
                    raise QueryBudgetExceeded(f"{self.url}: {msg}")
                raise RemoteError(r.status_code, msg)
            return r.json()
        raise AssertionError("unreachable")

    def _fetch(self, x: np.ndarray) -> np.ndarray:
        """Sends ``x[n, d]`` in chunks of the server's ``max_rows``; no counting."""
        outs = []
        for i in range(0, x.shape[0], self.max_rows):
            chunk = np.asarray(x[i:i + self.max_rows], np.float32)
            outs.append(np.asarray(self._request("POST", "/v1/predict",
                                                 {"inputs": chunk.tolist()})["outputs"]))
        out = np.concatenate(outs, axis=0)
        return out.astype(np.int32) if self.kind in (d.LABEL, d.LEAF) else out.astype(np.float32)

    # -- Oracle interface ---------------------------------------------------
    def describe(self) -> str:
        return " -> ".join([self.url] + [df.name for df in self.defenses])

    def query(self, x: Any) -> jax.Array:
        """Answers a batch ``x[n, ...]`` through the server; counts ``n`` queries."""
        x = self.check_query(x)
        self.reserve(x.shape[0])
        out = self._fetch(x.reshape(x.shape[0], -1))
        self.charge(x.shape[0])
        return jnp.asarray(out)

    __call__ = query

    def _out_struct(self, batch_shape: tuple[int, ...]) -> jax.ShapeDtypeStruct:
        if self.kind in (d.LABEL, d.LEAF):
            return jax.ShapeDtypeStruct(batch_shape, jnp.int32)
        if self.kind == d.VALUE:
            return jax.ShapeDtypeStruct(batch_shape, jnp.float32)
        if not self.num_classes:
            raise AccessError(f"{self.url} does not report num_classes; pure_fn needs it.")
        return jax.ShapeDtypeStruct(batch_shape + (int(self.num_classes),), jnp.float32)

    def pure_fn(self, key: jax.Array, x: jax.Array) -> jax.Array:
        """The server's answer as a jittable function of ``x[..., d]`` (a host
        callback; does NOT count; ``key`` is unused: the server draws its own
        noise). Works under ``jit``, ``vmap``, ``scan`` and ``while_loop``."""
        del key
        if self.input_shape is None or len(self.input_shape) != 1:
            raise AccessError(f"{self.url} does not report a flat input shape; pure_fn needs "
                              "it (use query).")
        x = jnp.asarray(x, jnp.float32)

        def host(xs):
            xs = np.asarray(xs, np.float32)
            flat = xs.reshape(-1, xs.shape[-1])
            struct = self._out_struct((flat.shape[0],))
            out = self._fetch(flat) if flat.shape[0] else np.zeros(struct.shape, struct.dtype)
            return out.reshape(xs.shape[:-1] + out.shape[1:])

        return jax.pure_callback(host, self._out_struct(tuple(x.shape[:-1])), x,
                                 vmap_method="expand_dims")

    def usage(self) -> dict:
        """The server's counters for this key (requests, queries, spend, remaining)."""
        return self._request("GET", "/v1/usage")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "RemoteOracle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other
