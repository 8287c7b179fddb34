"""Input checks used at the public boundary (never inside jit).

Messages read ``Expected <name>=<value> to be <what>.`` so a user sees the
argument, what was expected and what was given.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def _describe(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array(shape={tuple(value.shape)}, dtype={value.dtype})"
    return repr(value)


def positive(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raises ValueError unless ``value`` > 0 (or >= 0 with ``allow_zero``)."""
    ok = value >= 0 if allow_zero else value > 0
    if not np.all(ok):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Expected {name}={value!r} {rel}.")


def in_range(name: str, value: Any, lo: float, hi: float) -> None:
    if not np.all((np.asarray(value) >= lo) & (np.asarray(value) <= hi)):
        raise ValueError(f"Expected {name}={value!r} in [{lo}, {hi}].")


def one_of(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
                f"Unknown {name}={value!r}; expected one of: "
                + ", ".join(repr(c) for c in choices) + "."
        )


def array(
        name: str,
        value: Any,
        *,
        ndim: int | None = None,
        shape: tuple[int | None, ...] | None = None,
        dtype_kind: str | None = None,
        finite: bool = True,
        nonempty: bool = True,
) -> np.ndarray:
    """Checks an array argument and returns it as a NumPy array.

    Args:
        name: the argument's name, used in messages.
        value: array-like.
        ndim: required number of dimensions.
        shape: required shape; ``None`` entries match any size.
        dtype_kind: allowed NumPy dtype kinds, e.g. ``"f"``, ``"iu"``, ``"fiub"``.
        finite: reject NaN and infinity (floating arrays only).
        nonempty: reject arrays with zero elements.
    """
    arr = np.asarray(value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
                f"Expected {name} to have {ndim} dimensions; got {_describe(arr)}.")
    if shape is not None:
        if arr.ndim != len(shape) or any(
                s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = tuple("*" if s is None else s for s in shape)
            raise ValueError(
                    f"Expected {name} to have shape {want}; got {_describe(arr)}.")
    if dtype_kind is not None and arr.dtype.kind not in dtype_kind:
        raise ValueError(
                f"Expected {name} with dtype kind in {dtype_kind!r}; got {_describe(arr)}.")
    if nonempty and arr.size == 0:
        raise ValueError(f"Expected {name} to be non-empty; got {_describe(arr)}.")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(
                f"Expected {name} to be finite; got {bad} NaN/inf values in {_describe(arr)}.")
    return arr


def labels(name: str, value: Any, num_classes: int, *, n: int | None = None) -> np.ndarray:
    """Checks integer labels in ``[0, num_classes)``, optionally of length ``n``."""
    arr = array(name, value, ndim=1, dtype_kind="iu")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"Expected {name} to have length {n}; got {arr.shape[0]}.")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(
                f"Expected {name} in [0, {num_classes - 1}] (num_classes={num_classes}); "
                f"got values in [{lo}, {hi}].")
    return arr


def known_keys(name: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Raises on keys that are not known, listing the known ones."""
    known = tuple(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
                f"Unknown key(s) in {name}: {', '.join(unknown)}; known keys: "
                + ", ".join(sorted(known)) + ".")
