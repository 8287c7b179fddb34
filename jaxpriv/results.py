"""Turning result objects (NamedTuples of arrays, dataclasses) into JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Recursively converts arrays, NamedTuples, dataclasses and NumPy scalars
    to JSON types. Non-finite floats become strings ("nan", "inf")."""
    if hasattr(obj, "_asdict"):
        return {k: to_jsonable(v) for k, v in obj._asdict().items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pathlib.Path):
        return str(obj)
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):
        arr = np.asarray(obj)
        if arr.dtype.kind == "V" or "key" in str(arr.dtype):
            return str(obj)
        return to_jsonable(arr.item() if arr.ndim == 0 else arr.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, (np.floating,)):
        return to_jsonable(float(obj))
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj


def save_json(path: str | os.PathLike, obj: Any) -> pathlib.Path:
    """Writes ``obj`` as JSON atomically (write to a temp file, then rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))
    os.replace(tmp, path)
    return path


def load_json(path: str | os.PathLike) -> Any:
    return json.loads(pathlib.Path(path).read_text())
