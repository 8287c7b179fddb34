"""Black-box oracles: the only way black-box attacks see a target.

An :class:`Oracle` wraps a target's prediction function, applies output
defences in order, counts queries and enforces an optional budget. Attacks
that run their queries inside a compiled program use :meth:`Oracle.pure_fn`
(a jittable ``(key, x) -> outputs`` with the same defences) and report how
many rows they sent with :meth:`Oracle.charge`, so the count stays exact.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv.oracles import _defenses as d


# Values of ``jax.default_matmul_precision`` an oracle accepts.
PRECISIONS = (None, "default", "high", "highest", "bfloat16", "tensorfloat32", "float32")


class QueryBudgetExceeded(RuntimeError):
    """Raised when a query would take an oracle past its budget."""


class AccessError(ValueError):
    """Raised when an attack needs an access the oracle does not give."""


class Oracle:
    """Query access to a target, with output defences and a query counter.

    Args:
      predict: ``predict(x[n, ...]) -> raw outputs``: logits ``[n, c]``
        (``raw="logits"``), probabilities ``[n, c]`` (``"probabilities"``),
        leaf ids ``[n]`` (``"leaf"``) or regression values ``[n]`` (``"value"``).
        Must be jittable for :meth:`pure_fn`.
      raw: what ``predict`` returns.
      defenses: output defences applied in order.
      budget: maximum number of rows that may be queried (``None``: no limit).
      input_shape: per-row input shape, checked on every query (``None``: any).
      key: PRNG key for randomised defences (noise); split on every query.
      name: a label for reports.
      precision: float32 matmul precision of the target's answers:
        ``"highest"`` (the default: full float32, as a deployed API answers),
        or any value of ``jax.default_matmul_precision`` (``None``: whatever
        is in effect where the answer is traced, by default JAX's, which on
        GPUs and TPUs rounds matmul inputs to TF32 or bfloat16: an unintended
        noise defence of about 1e-3 that breaks equation-solving attacks). On
        a CPU all values give the same answers.

    Example:
      >>> oracle = Oracle.from_model(apply_fn, params, defenses=[round_outputs(2)])
      >>> probs = oracle.query(x)   # counts x.shape[0] queries
    """

    def __init__(
        self,
        predict: Callable[[jax.Array], jax.Array],
        *,
        raw: str = "logits",
        defenses: Sequence[d.Defense] = (),
        budget: int | None = None,
        input_shape: tuple[int, ...] | None = None,
        key: jax.Array | None = None,
        name: str = "oracle",
        precision: str | None = "highest",
    ):
        _validate.one_of("raw", raw, ("logits",) + d.KINDS)
        _validate.one_of("precision", precision, PRECISIONS)
        kind = d.PROBABILITIES if raw == "logits" else raw
        for df in defenses:
            if kind not in df.kind_in:
                raise ValueError(
                    f"Defense {df.name!r} expects outputs of kind {df.kind_in}; the oracle "
                    f"gives {kind!r} at that point. Reorder the defenses.")
            kind = df.kind_out or kind
        if budget is not None:
            _validate.positive("budget", budget, allow_zero=True)
        self._predict = predict
        self.raw = raw
        self.defenses = tuple(defenses)
        self.kind = kind
        self.budget = budget
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.name = name
        self.precision = precision
        self.queries = 0
        self._key = jax.random.key(0) if key is None else key
        self._jitted = jax.jit(self.pure_fn)

    @classmethod
    def from_model(cls, apply_fn: Callable, params: Any, **kwargs) -> "Oracle":
        """An oracle over a white-box ``(apply_fn, params)`` returning logits."""
        kwargs.setdefault("raw", "logits")
        return cls(lambda x: apply_fn(params, x), **kwargs)

    @property
    def lossy(self) -> bool:
        """True when some defence alters confidence values (rounding, noise...)."""
        return any(df.lossy for df in self.defenses)

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.queries

    def describe(self) -> str:
        return " -> ".join([self.raw] + [df.name for df in self.defenses])

    def pure_fn(self, key: jax.Array, x: jax.Array) -> jax.Array:
        """The oracle's answer as a pure jittable function (does NOT count)."""
        if self.precision is None:  # the ambient setting
            out = self._predict(x)
        else:
            with jax.default_matmul_precision(self.precision):
                out = self._predict(x)
        if self.raw == "logits":
            out = jax.nn.softmax(out, axis=-1)
        for i, df in enumerate(self.defenses):
            out = df.fn(jax.random.fold_in(key, i), out)
        return out

    def charge(self, n: int) -> None:
        """Counts ``n`` queried rows; raises if that passes the budget."""
        n = int(n)
        if n < 0:
            raise ValueError(f"Expected n={n} >= 0.")
        if self.budget is not None and self.queries + n > self.budget:
            raise QueryBudgetExceeded(
                f"Query budget exceeded on {self.name!r}: {self.queries} used + {n} asked "
                f"> budget={self.budget}.")
        self.queries += n

    def reserve(self, n: int) -> None:
        """Checks that ``n`` more queries fit in the budget, without counting."""
        if self.budget is not None and self.queries + int(n) > self.budget:
            raise QueryBudgetExceeded(
                f"Query budget exceeded on {self.name!r}: {self.queries} used + {int(n)} "
                f"needed > budget={self.budget}.")

    def next_key(self) -> jax.Array:
        self._key, sub = jax.random.split(self._key)
        return sub

    def check_query(self, x: Any) -> np.ndarray:
        """Validates a query batch ``x[n, ...]`` (finite, non-empty, declared row shape)."""
        x = _validate.array("x", x, dtype_kind="fiub")
        if x.ndim < 1:
            raise ValueError(f"Expected x with a leading batch axis; got shape {x.shape}.")
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"Expected x with shape (n, {', '.join(map(str, self.input_shape))}); "
                f"got {x.shape}.")
        return x

    def query(self, x: Any) -> jax.Array:
        """Answers a batch ``x[n, ...]``; counts ``n`` queries."""
        x = self.check_query(x)
        self.charge(x.shape[0])
        return self._jitted(self.next_key(), jnp.asarray(x, jnp.float32))

    __call__ = query

    def require(self, *kinds: str, attack: str = "this attack", exact: bool = False) -> None:
        """Raises :class:`AccessError` unless the oracle's output kind is one of
        ``kinds`` (and, with ``exact``, no defence alters the values)."""
        if self.kind not in kinds:
            raise AccessError(
                f"{attack} needs oracle outputs of kind {' or '.join(kinds)}; this oracle "
                f"returns {self.kind!r} ({self.describe()}).")
        if exact and self.lossy:
            raise AccessError(
                f"{attack} needs exact confidences; this oracle alters them "
                f"({self.describe()}).")

    def reset(self) -> None:
        self.queries = 0
