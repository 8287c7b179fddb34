"""Shared helpers for the benchmark scripts (small and stable: others import it).

A benchmark script ``benchmarks/bench_<name>.py`` imports this module as
``import _common`` (the script's folder is on ``sys.path`` when it runs) and:

  args = _common.parse_args("what this benchmark measures")
  t = _common.time_call(lambda: jitted(x), repeats=3)   # Timing(compile_s, seconds)
  rec = _common.record("mybench/case", t.seconds, "sequential_jax", base.seconds,
                       compile_seconds=t.compile_seconds)
  _common.finish([rec], args.json)                      # prints the table, writes JSON

Records follow the project's format: ``name`` (``<bench>/<case>``), ``seconds``
(steady state), ``baseline`` (one of ``BASELINES``), ``baseline_seconds`` and
``ratio = baseline_seconds / seconds``; extra keyword fields are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
from typing import Any, Callable, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# per_example_jax: DP-SGD's textbook per-example gradients (vmap(grad)) in JAX.
BASELINES = ("sequential_jax", "sklearn", "art", "scipy", "numpy_loop", "matmul_roofline",
             "per_example_jax")


class Timing(NamedTuple):
    compile_seconds: float  # first call (trace + compile + one run) minus one steady run
    seconds: float          # steady state: best of ``repeats`` calls after the warm-up
    first_call_seconds: float


def block(tree: Any) -> Any:
    """``block_until_ready`` on every array leaf of ``tree``; returns ``tree``."""
    for leaf in jax.tree_util.tree_leaves(tree):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return tree


def time_call(fn: Callable[[], Any], *, repeats: int = 3, warmup: bool = True) -> Timing:
    """Times ``fn()`` with its outputs blocked until ready.

    The first call (tracing and compilation included) is the warm-up; the
    steady-state time is the best of ``repeats`` further calls. With
    ``warmup=False`` (host code such as scikit-learn, nothing to compile) the
    first call counts as one of the repeats.
    """
    t0 = time.perf_counter()
    block(fn())
    first = time.perf_counter() - t0
    times = [] if warmup else [first]
    for _ in range(max(repeats - len(times), 0 if times else 1)):
        t0 = time.perf_counter()
        block(fn())
        times.append(time.perf_counter() - t0)
    best = min(times)
    return Timing(max(first - best, 0.0) if warmup else 0.0, best, first)


def time_pair(fn: Callable[[], Any], baseline: Callable[[], Any], *,
              repeats: int = 3) -> tuple[Timing, Timing]:
    """Times two jitted calls on the same work: both warmed up, then timed
    ``repeats`` times each, alternating, keeping the best of each (noise on a
    shared machine then hits both sides alike)."""
    firsts, best = [], [float("inf"), float("inf")]
    for f in (fn, baseline):
        t0 = time.perf_counter()
        block(f())
        firsts.append(time.perf_counter() - t0)
    for _ in range(repeats):
        for i, f in enumerate((fn, baseline)):
            t0 = time.perf_counter()
            block(f())
            best[i] = min(best[i], time.perf_counter() - t0)
    return tuple(Timing(max(first - b, 0.0), b, first) for first, b in zip(firsts, best))


def matmul_gflops(n: int = 1024, *, repeats: int = 5) -> float:
    """This machine's float32 matmul throughput in GFLOP/s (``[n, n] @ [n, n]``, jitted).

    Counts ``2 n^3`` FLOPs per product; best of ``repeats`` calls after a
    warm-up (one product per call: at n = 1024 a call takes milliseconds, so
    dispatch overhead does not count; inputs change per call, so nothing is
    hoisted or cached).
    """
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    mm = jax.jit(lambda a, b: a @ b)
    t = time_call(lambda: mm(a, b), repeats=repeats)
    return 2.0 * n ** 3 / t.seconds / 1e9


def matmul_peak_gflops() -> float:
    """The best :func:`matmul_gflops` over square sizes that suit the backend:
    512 and 1024 on a CPU (larger ones run no faster there); up to 8192 on an
    accelerator, where a 1024 product is far too small to fill the device
    (measured on an H100: 16-27 TFLOP/s at 1024, which ``fit_many/purchase``
    "beat" by 1.6x)."""
    sizes = (512, 1024) if jax.default_backend() == "cpu" else (1024, 4096, 8192)
    return max(matmul_gflops(n) for n in sizes)


def peak_memory_mb() -> dict[str, float]:
    """Peak memory so far, in MiB: host RSS of this process and, where the
    backend reports it, the default device's peak bytes in use."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    host = rss / 1024.0 if sys.platform != "darwin" else rss / 2 ** 20
    out = {"host_peak_mb": round(host, 1)}
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # pragma: no cover - backends without memory stats
        stats = {}
    if "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = round(stats["peak_bytes_in_use"] / 2 ** 20, 1)
    return out


def record(name: str, seconds: float, baseline: str, baseline_seconds: float,
           **extra: Any) -> dict[str, Any]:
    """One benchmark record; ``ratio = baseline_seconds / seconds`` (> 1: we are faster)."""
    if baseline not in BASELINES:
        raise ValueError(f"Unknown baseline={baseline!r}; expected one of: "
                         + ", ".join(repr(b) for b in BASELINES) + ".")
    if "/" not in name:
        raise ValueError(f"Expected name={name!r} of the form '<benchmark>/<case>'.")
    rec = {"name": name, "seconds": float(seconds), "baseline": baseline,
           "baseline_seconds": float(baseline_seconds),
           "ratio": float(baseline_seconds) / float(seconds) if seconds > 0 else math.inf}
    rec.update({k: _plain(v) for k, v in extra.items()})
    return rec


def _plain(v: Any) -> Any:
    if isinstance(v, (np.generic, jax.Array)) and np.ndim(v) == 0:
        return np.asarray(v).item()
    if isinstance(v, (np.ndarray, jax.Array)):
        return np.asarray(v).tolist()
    return v


def machine_info() -> dict[str, Any]:
    """Where the numbers come from (stored next to the records by ``finish``)."""
    return {"platform": platform.platform(), "python": platform.python_version(),
            "jax": jax.__version__, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()], "cpu_count": os.cpu_count()}


def print_table(records: Iterable[dict[str, Any]], file=None) -> None:
    """Prints name, seconds, baseline, baseline seconds and ratio, one row per record."""
    file = file or sys.stdout
    rows = [(r["name"], f"{r['seconds']:.4g}", r["baseline"], f"{r['baseline_seconds']:.4g}",
             f"{r['ratio']:.2f}x") for r in records]
    head = ("name", "seconds", "baseline", "baseline_s", "ratio")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))
    print(line(head), file=file)
    print(line(["-" * w for w in widths]), file=file)
    for row in rows:
        print(line(row), file=file)


def write_json(path: str | os.PathLike, records: list[dict[str, Any]]) -> None:
    """Writes the list of records as JSON (creating parent folders)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump([{k: _plain(v) for k, v in r.items()} for r in records], f, indent=2)
        f.write("\n")


def parse_args(description: str, argv: list[str] | None = None,
               cases: tuple[str, ...] | None = None,
               smoke_cases: bool = True) -> argparse.Namespace:
    """The options every benchmark takes: ``--smoke`` and ``--json PATH``; with
    ``cases``, also ``--cases A,B`` (default all), checked against them.
    ``smoke_cases=False``: the smoke run has cases of its own, and ``--cases``
    given with ``--smoke`` is an error rather than silently ignored."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (< 15 s), used by tests")
    p.add_argument("--json", metavar="PATH", default=None, help="write the records here")
    if cases:
        p.add_argument("--cases", default=None,
                       help=f"comma-separated cases to run (default all: {','.join(cases)})"
                            + ("" if smoke_cases else "; full runs only"))
    args = p.parse_args(argv)
    if cases:
        if args.cases is not None and args.smoke and not smoke_cases:
            p.error(f"Expected --cases without --smoke (the smoke run has its own case); "
                    f"got --smoke --cases {args.cases}.")
        given = ",".join(cases) if args.cases is None else args.cases
        args.cases = [c for c in given.split(",") if c]
        unknown = [c for c in args.cases if c not in cases]
        if unknown or not args.cases:
            p.error(f"Expected --cases from {', '.join(cases)}; got {', '.join(unknown) or 'none'}.")
    return args


def finish(records: list[dict[str, Any]], json_path: str | None) -> None:
    """Prints the ratio table and writes ``json_path`` when given."""
    print_table(records)
    if json_path:
        write_json(json_path, records)
        print(f"wrote {json_path}")
