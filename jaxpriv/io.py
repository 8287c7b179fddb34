"""Saving and loading targets and shadow models (Flax msgpack with a versioned header).

A saved model is one file::

    b"JAXPRIV\\x00"  (8 bytes, magic)
    uint32 little-endian header length
    header        (UTF-8 JSON: format, version, kind, architecture spec, meta, payload sha256)
    payload       (flax.serialization msgpack of the parameter tree)

The header is small and readable without decoding the payload, so a file
written by another format version is refused with a clear message before any
array is touched. ``kind`` says how to rebuild the prediction function:

- ``"flax"``: a :func:`jaxpriv.models.make_model` architecture; ``spec`` holds
  its keyword arguments, so :func:`load_model` returns a ready ``Model``.
- ``"tree"``: a :class:`jaxpriv.models.TreeArrays` decision tree
  (``apply_fn = tree_apply``).
- ``"pytree"``: any parameter tree (e.g. a scikit-learn linear model converted
  to arrays); the caller supplies the ``apply_fn``.

Shadow models are saved the same way with a leading ``[K]`` axis on every
leaf (``stacked=K`` in the header), as returned by ``training.fit_many``.

Example:
  >>> save_model("target.jpm", model, params, meta={"dataset": "digits"})
  >>> saved = load_model("target.jpm")
  >>> logits = saved.model.apply(saved.params, x)
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import struct
from typing import Any, Callable, NamedTuple

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import __version__, _validate
from jaxpriv import models as _models

MAGIC = b"JAXPRIV\x00"
FORMAT = "jaxpriv.model"
FORMAT_VERSION = 1
KINDS = ("flax", "tree", "pytree")

__all__ = [
    "FORMAT_VERSION",
    "FormatVersionError",
    "SavedModel",
    "load_model",
    "model_spec",
    "read_header",
    "save_model",
]


class FormatVersionError(ValueError):
    """A model file written in another (or no) jaxpriv format version."""


class SavedModel(NamedTuple):
    """What :func:`load_model` returns.

    Attributes:
      params: the parameter tree (``[K, ...]`` leaves when stacked).
      model: the rebuilt :class:`jaxpriv.models.Model` (``kind="flax"``), else ``None``.
      apply_fn: ``apply_fn(params, x[n, d]) -> logits[n, c]`` (one model, not
        stacked); ``None`` for ``kind="pytree"``.
      kind: ``"flax"``, ``"tree"`` or ``"pytree"``.
      spec: the architecture (``make_model`` keyword arguments) for ``"flax"``.
      stacked: number K of stacked models, or ``None`` for one model.
      meta: the user's metadata dictionary (JSON types).
      header: the full header.
    """

    params: Any
    model: _models.Model | None
    apply_fn: Callable | None
    kind: str
    spec: dict
    stacked: int | None
    meta: dict
    header: dict


def model_spec(model: _models.Model) -> dict:
    """The ``make_model`` keyword arguments that rebuild ``model``.

    Args:
      model: a :class:`jaxpriv.models.Model` from :func:`jaxpriv.models.make_model`.

    Returns:
      ``{"name", "num_features", "num_classes", ...}`` (JSON types).
    """
    m = model.module
    spec: dict[str, Any] = {"name": model.name, "num_features": int(model.num_features),
                            "num_classes": int(model.num_classes)}
    if isinstance(m, _models.MLP):
        spec.update(hidden=[int(h) for h in m.hidden], activation=m.activation)
    elif isinstance(m, _models.DAEClassifier):
        spec.update(hidden=[int(h) for h in m.hidden])
    elif isinstance(m, _models.CNN):
        spec.update(image_shape=[int(s) for s in m.image_shape],
                    channels=[int(c) for c in m.channels])
    elif not isinstance(m, _models.SoftmaxRegression):
        raise ValueError(f"Expected a model from jaxpriv.models.make_model; got module "
                         f"{type(m).__name__}.")
    return spec


def _build(spec: dict) -> _models.Model:
    kw = dict(spec)
    name = kw.pop("name")
    if "image_shape" in kw:
        kw["image_shape"] = tuple(kw["image_shape"])
    for k in ("hidden", "channels"):
        if k in kw:
            kw[k] = tuple(kw[k])
    return _models.make_model(name, **kw)


def _leaves_shapes(tree: Any) -> list[tuple[str, tuple[int, ...]]]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [(jax.tree_util.keystr(p), tuple(np.shape(v))) for p, v in flat]


def save_model(path: str | os.PathLike, model: _models.Model | str, params: Any, *,
               meta: dict | None = None, stacked: bool = False) -> pathlib.Path:
    """Writes a target (or K stacked shadow models) to ``path`` atomically.

    Args:
      path: the file to write (conventionally ``*.jpm``).
      model: a :class:`jaxpriv.models.Model` (kind ``"flax"``), or the string
        ``"tree"`` (``params`` a ``TreeArrays``) or ``"pytree"`` (any tree).
      params: the parameter tree; with ``stacked`` every leaf has a leading ``[K]``.
      meta: JSON-serialisable metadata kept in the header (data set, defences...).
      stacked: whether ``params`` holds K models along axis 0.

    Returns:
      The path written.
    """
    path = pathlib.Path(path)
    if isinstance(model, str):
        _validate.one_of("model", model, ("tree", "pytree"))
        kind, spec = model, {}
        if kind == "tree" and not isinstance(params, _models.TreeArrays):
            raise ValueError(f"Expected params to be a TreeArrays for model='tree'; got "
                             f"{type(params).__name__}.")
        if kind == "tree":
            # The input width: meta["num_features"] when the caller knows it; the
            # tree itself only tells the narrowest row it can route.
            used = np.asarray(params.feature)
            spec = {"min_features": int(used.max()) + 1 if used.size else 1}
            if (meta or {}).get("num_features") is not None:
                spec["num_features"] = int(meta["num_features"])
                if spec["num_features"] < spec["min_features"]:
                    raise ValueError(
                        f"Expected meta['num_features'] >= {spec['min_features']} (the tree"
                        f" splits on feature {spec['min_features'] - 1}); got "
                        f"{spec['num_features']}.")
    elif isinstance(model, _models.Model):
        kind, spec = "flax", model_spec(model)
    else:
        raise ValueError(f"Expected model to be a jaxpriv.models.Model, 'tree' or 'pytree'; "
                         f"got {type(model).__name__}.")
    params = jax.device_get(params)
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("Expected params with at least one array; got an empty tree.")
    k = None
    if stacked:
        sizes = {np.shape(v)[0] if np.ndim(v) else None for v in leaves
                 if not isinstance(v, int)}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(f"Expected every leaf of stacked params to share a leading [K] "
                             f"axis; got leading sizes {sorted(map(str, sizes))}.")
        k = int(sizes.pop())
    if kind == "tree":
        state = {f: np.asarray(getattr(params, f)) for f in _models.TreeArrays._fields
                 if f != "depth"}
        state["depth"] = np.asarray(params.depth, np.int64)
    else:
        state = flax.serialization.to_state_dict(params)
    payload = flax.serialization.msgpack_serialize(state)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "jaxpriv_version": __version__,
        "kind": kind,
        "spec": spec,
        "stacked": k,
        "meta": json.loads(json.dumps(meta or {}, default=str)),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_bytes": len(payload),
    }
    hb = json.dumps(header, sort_keys=True).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(MAGIC + struct.pack("<I", len(hb)) + hb + payload)
    os.replace(tmp, path)
    return path


def _split(path: pathlib.Path) -> tuple[dict, bytes]:
    if not path.exists():
        raise FileNotFoundError(f"No saved model at {path}.")
    blob = path.read_bytes()
    if blob[:len(MAGIC)] != MAGIC:
        raise FormatVersionError(
            f"{path} is not a jaxpriv model file (it does not start with {MAGIC!r}); "
            f"save models with jaxpriv.io.save_model.")
    (n,) = struct.unpack("<I", blob[len(MAGIC):len(MAGIC) + 4])
    start = len(MAGIC) + 4
    try:
        header = json.loads(blob[start:start + n].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatVersionError(f"{path} has a corrupt header: {e}.") from None
    if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
        raise FormatVersionError(
            f"{path} was written in model format {header.get('format')!r} version "
            f"{header.get('version')!r} (by jaxpriv {header.get('jaxpriv_version', '?')}); "
            f"this jaxpriv ({__version__}) reads {FORMAT!r} version {FORMAT_VERSION}. "
            "Load it with the jaxpriv version that wrote it and save it again, or retrain.")
    return header, blob[start + n:]


def read_header(path: str | os.PathLike) -> dict:
    """The header of a saved model (checks magic and format version)."""
    return _split(pathlib.Path(path))[0]


def load_model(path: str | os.PathLike) -> SavedModel:
    """Reads a file written by :func:`save_model`.

    Raises:
      FormatVersionError: the file is not a jaxpriv model, or was written in
        another format version.
      ValueError: the payload is corrupt or does not match the architecture.
    """
    path = pathlib.Path(path)
    header, payload = _split(path)
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ValueError(f"{path} is corrupt: the payload checksum does not match the header.")
    state = flax.serialization.msgpack_restore(payload)
    kind, spec, k = header["kind"], header.get("spec", {}), header.get("stacked")
    model = apply_fn = None
    if kind == "flax":
        model = _build(spec)
        template = model.init(jax.random.key(0), jnp.zeros((1, model.num_features)))
        if k is not None:
            template = jax.tree_util.tree_map(
                lambda p: np.zeros((k,) + p.shape, p.dtype), template)
        want, got = _leaves_shapes(template), _leaves_shapes(state)
        if want != got:
            raise ValueError(f"{path}: parameters do not match the architecture {spec}: "
                             f"expected {want}; got {got}.")
        params = flax.serialization.from_state_dict(template, state)
        params = jax.tree_util.tree_map(np.asarray, params)
        apply_fn = model.apply
    elif kind == "tree":
        params = _models.TreeArrays(**{f: jnp.asarray(state[f]) for f in
                                       _models.TreeArrays._fields if f != "depth"},
                                    depth=int(state["depth"]))
        apply_fn = _models.tree_apply
    elif kind == "pytree":
        params = state
    else:
        raise FormatVersionError(f"{path} has unknown kind {kind!r}; known: {', '.join(KINDS)}.")
    return SavedModel(params, model, apply_fn, kind, spec, k, header.get("meta", {}), header)
