"""Runs every ``benchmarks/bench_*.py`` and gathers their ratios in one JSON and one table.

Each benchmark runs in its own process (``python bench_X.py --json TMP
[--smoke]``), with its peer (ART, scikit-learn, SciPy) or the naive loop in
that same process on the same work; a failing or timed-out benchmark is
reported and the others still run. Outputs:

- ``--json`` (default ``results/benchmarks.json``): ``{"machine", "smoke",
  "benchmarks": [per-script status and wall time], "records": [every record]}``;
- ``--md`` (default: the JSON path with ``.md``): the Markdown table of ratios
  (``ratio = baseline_seconds / seconds``; > 1 means jaxpriv is faster), with
  the geometric mean per baseline.

    python benchmarks/run.py [--smoke] [--only membership,extraction] [--timeout 1800]
    python benchmarks/run.py --collect a.json b.json   # gather records written earlier
                                                        # (e.g. one cluster job per benchmark)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def discover(bench_dir: pathlib.Path, only: list[str] | None = None) -> list[pathlib.Path]:
    """The ``bench_*.py`` scripts in ``bench_dir`` whose name contains one of ``only``."""
    scripts = sorted(bench_dir.glob("bench_*.py"))
    if only:
        known = [s.stem[len("bench_"):] for s in scripts]
        unknown = [o for o in only if not any(o in k for k in known)]
        if unknown:
            raise SystemExit(f"run.py: --only {','.join(unknown)} matches no benchmark; "
                             f"known: {', '.join(known)}")
        scripts = [s for s in scripts if any(o in s.stem[len("bench_"):] for o in only)]
    return scripts


def run_one(script: pathlib.Path, *, smoke: bool, timeout: float) -> dict:
    """Runs one benchmark script; returns its status, wall time and records."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "records.json"
        cmd = [sys.executable, str(script), "--json", str(out)] + (["--smoke"] if smoke else [])
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  cwd=script.parent)
        except subprocess.TimeoutExpired as e:
            tail = (e.stderr or b"")[-2000:]
            return {"script": script.name, "status": "timeout", "wall_seconds": timeout,
                    "records": [], "log": tail.decode() if isinstance(tail, bytes) else tail}
        wall = time.perf_counter() - t0
        status, records = "ok", []
        if proc.returncode != 0:
            status = f"failed (exit {proc.returncode})"
        elif not out.exists():
            status = "failed (no JSON written)"
        else:
            try:
                records = json.loads(out.read_text())
                _check_records(records)
            except ValueError as e:
                status, records = f"failed (bad JSON: {e})", []
        return {"script": script.name, "status": status, "wall_seconds": wall,
                "records": records,
                "log": "" if status == "ok" else (proc.stderr or proc.stdout)[-2000:]}


def _check_records(records) -> None:
    if not isinstance(records, list):
        raise ValueError("not a list of records")
    for r in records:
        missing = {"name", "seconds", "baseline", "baseline_seconds", "ratio"} - set(r)
        if missing:
            raise ValueError(f"record {r.get('name')} lacks {sorted(missing)}")


def collect_one(path: pathlib.Path) -> dict:
    """Reads records a benchmark wrote earlier with ``--json``."""
    try:
        records = json.loads(path.read_text())
        _check_records(records)
        status = "ok"
    except (OSError, ValueError) as e:
        records, status = [], f"failed ({e})"
    return {"script": str(path), "status": status, "wall_seconds": None, "records": records,
            "log": ""}


def geomean(values: list[float]) -> float:
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else float("nan")


def markdown(result: dict) -> str:
    """The table of ratios, one row per record, then the geometric means."""
    lines = ["| benchmark | jaxpriv (s) | baseline | baseline (s) | ratio |",
             "|---|---:|---|---:|---:|"]
    for r in result["records"]:
        lines.append(f"| {r['name']} | {r['seconds']:.4g} | {r['baseline']} | "
                     f"{r['baseline_seconds']:.4g} | {r['ratio']:.2f}x |")
    by_base: dict[str, list[float]] = {}
    for r in result["records"]:
        by_base.setdefault(r["baseline"], []).append(float(r["ratio"]))
    if by_base:
        lines += ["", "| baseline | records | geometric-mean ratio |", "|---|---:|---:|"]
        lines += [f"| {b} | {len(v)} | {geomean(v):.2f}x |" for b, v in sorted(by_base.items())]
    if "matmul_roofline" in by_base:
        lines += ["", "For `matmul_roofline` the baseline is the time the same FLOPs take as one "
                      "large matmul on this machine, so the ratio is the fraction of that "
                      "roofline reached (1.00x: as fast as a dense matmul), not a speed-up."]
    bad = [b for b in result["benchmarks"] if b["status"] != "ok"]
    if bad:
        lines += ["", "Not measured: " + "; ".join(f"{b['script']}: {b['status']}"
                                                   for b in bad) + "."]
    m = result["machine"]
    lines += ["", f"Machine: {m['platform']}, {m['cpu_count']} CPU cores, Python {m['python']}"
                  f"{', smoke sizes' if result['smoke'] else ''}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes (each < 15 s)")
    p.add_argument("--only", default="", help="comma-separated parts of benchmark names")
    p.add_argument("--json", default="results/benchmarks.json", help="combined records")
    p.add_argument("--md", default=None, help="Markdown table (default: --json with .md)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per benchmark")
    p.add_argument("--bench-dir", default=str(HERE), help="folder with bench_*.py")
    p.add_argument("--collect", nargs="+", metavar="JSON",
                   help="do not run: gather records that bench scripts wrote with --json")
    args = p.parse_args(argv)
    only = [o.strip() for o in args.only.split(",") if o.strip()] or None
    scripts = [] if args.collect else discover(pathlib.Path(args.bench_dir), only)
    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpu_count": os.cpu_count()},
              "smoke": args.smoke, "benchmarks": [], "records": []}
    for path in args.collect or []:
        res = collect_one(pathlib.Path(path))
        print(f"{path}: {res['status']}, {len(res['records'])} records", flush=True)
        result["benchmarks"].append({k: v for k, v in res.items() if k != "records"})
        result["records"] += res["records"]
    for i, script in enumerate(scripts, 1):
        print(f"[{i}/{len(scripts)}] {script.name} ...", end=" ", flush=True)
        res = run_one(script, smoke=args.smoke, timeout=args.timeout)
        print(f"{res['status']} in {res['wall_seconds']:.1f} s, {len(res['records'])} records",
              flush=True)
        if res["status"] != "ok" and res["log"]:
            print("  " + res["log"].strip().splitlines()[-1], flush=True)
        result["benchmarks"].append({k: v for k, v in res.items() if k != "records"})
        result["records"] += res["records"]
    json_path = pathlib.Path(args.json)
    md_path = pathlib.Path(args.md) if args.md else json_path.with_suffix(".md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(markdown(result))
    print()
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}")
    return 0 if all(b["status"] == "ok" for b in result["benchmarks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
