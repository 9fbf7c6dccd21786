"""Run hcsaio's side-by-side benchmarks and report ratios against baselines.

    python benchmarks/run.py [--quick] [--json PATH] [--plot DIR] [--repeats N] [NAME...]

Absolute times on shared machines are noise; ratios measured in the same run
are not. Every benchmark measures hcsaio and its baselines in one process,
interleaved, and reports one row per (metric, baseline)::

    {"name", "metric", "unit", "value", "baseline", "baseline_value",
     "ratio", "target", "ok", "spread", "repeats"}

``value`` and ``baseline_value`` are medians over ``repeats`` runs (each in a
fresh interpreter); ``ratio``
is the median of the per-run ratios, oriented so that bigger is better for
hcsaio (baseline/value for times and memory, value/baseline for rates);
``spread`` is the half-range of those ratios (or of the values, for rows
without a baseline) relative to their median; ``ok`` is null for rows without
a target. Every run of every benchmark gets a fresh interpreter, so threads,
memory and emulator services of one never show up in another's numbers.

``--quick`` runs small versions of everything (under a minute on 2 cores);
the test suite runs it to keep the benchmarks working, never to judge speed.
``--plot DIR`` (needs matplotlib: the ``plot`` extra) draws the bridge's
latency distributions. The exit status is 1 if a benchmark failed to run;
missed targets are reported, not failures.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the bench_* modules and their helpers

from _common import judge  # noqa: E402

BENCHMARKS = ["bridge", "concurrency", "schema", "stdio", "lifecycle", "events"]
PUBLIC_KEYS = (
    "name",
    "metric",
    "unit",
    "value",
    "baseline",
    "baseline_value",
    "ratio",
    "target",
    "ok",
    "spread",
    "repeats",
)
#: Latency samples kept per series for plotting (evenly spaced order statistics).
PLOT_POINTS = 4000


# --------------------------------------------------------------------------- worker side


def _median(xs: list[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _spread(xs: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    m = _median(xs)
    return round((max(xs) - min(xs)) / 2 / abs(m), 3) if m else None


def aggregate(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Fold the rows of several runs into one row per (metric, baseline)."""

    keyed: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for rows in runs:
        for r in rows:
            keyed.setdefault((r["name"], r["metric"], r["baseline"]), []).append(r)
    out = []
    for group in keyed.values():
        first = dict(group[0])

        def med(key: str, group: list[dict[str, Any]] = group) -> Any:
            xs = [r[key] for r in group if r.get(key) is not None]
            return _median(xs) if xs else None

        ratios = [r["ratio"] for r in group if r.get("ratio") is not None]
        values = [r["value"] for r in group if r.get("value") is not None]
        first["value"] = med("value")
        first["baseline_value"] = med("baseline_value")
        first["ratio"] = round(_median(ratios), 2) if ratios else None
        first["target"] = med("target")
        first["spread"] = _spread(ratios) if ratios else _spread(values)
        first["repeats"] = len(group)
        first["ok"] = judge(first)
        out.append(first)
    return out


def _thin(samples: list[float], points: int = PLOT_POINTS) -> list[float]:
    ordered = sorted(samples)
    if len(ordered) <= points:
        return ordered
    step = (len(ordered) - 1) / (points - 1)
    return [ordered[round(i * step)] for i in range(points)]


def worker(name: str, quick: bool, repeat: int, out: Path) -> None:
    """Run one benchmark once in this (fresh) interpreter; write its rows."""
    import _common

    _common.REPEAT = repeat
    module = importlib.import_module(f"bench_{name}")
    rows = module.run(quick)
    result = {
        "rows": rows,
        "samples": {k: _thin(v) for k, v in getattr(module, "SAMPLES", {}).items()},
        "notes": list(getattr(module, "NOTES", [])),
    }
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent side


def default_repeats(name: str, quick: bool) -> int:
    """A module's ``REPEATS = (quick, full)``, read without importing it (the
    parent stays free of anything a benchmark loads)."""
    tree = ast.parse((HERE / f"bench_{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "REPEATS" for t in node.targets
        ):
            quick_n, full_n = ast.literal_eval(node.value)
            return int(quick_n if quick else full_n)
    return 1 if quick else 3


def run_one(name: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Every repeat in a fresh interpreter: threads, memory and the emulator
    service of one run never show up in the next one's numbers."""
    repeats = args.repeats or default_repeats(name, args.quick)
    started = time.monotonic()
    print(f"running {name} ({repeats}x) ...", file=sys.stderr, flush=True)
    runs, samples, notes = [], {}, []
    with tempfile.TemporaryDirectory(prefix=f"hcsaio-bench-{name}-") as tmp:
        for repeat in range(repeats):
            out = Path(tmp) / f"result-{repeat}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
            cmd += ["--repeat-index", str(repeat), "--out", str(out)]
            if args.quick:
                cmd.append("--quick")
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL)
            if proc.returncode != 0 or not out.exists():
                print(f"benchmark {name} failed (exit status {proc.returncode})", file=sys.stderr)
                return None
            result = json.loads(out.read_text())
            runs.append(result["rows"])
            for key, values in result["samples"].items():
                samples.setdefault(key, []).extend(values)
            notes += [n for n in result["notes"] if n not in notes]
    wall = time.monotonic() - started
    print(f"  {name}: {wall:.1f} s", file=sys.stderr, flush=True)
    return {
        "rows": aggregate(runs),
        "samples": {k: _thin(v) for k, v in samples.items()},
        "notes": notes,
        "wall": wall,
    }


def _num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    ax = abs(x)
    if ax >= 1e6:
        text = f"{x / 1e6:.3g}M"
    elif ax >= 1e4:
        text = f"{x / 1e3:.3g}k"
    elif ax >= 100 or x == int(x):
        text = f"{x:.0f}"
    else:
        text = f"{x:.3g}"
    return f"{text} {unit}".strip()


def _target(r: dict[str, Any]) -> str:
    t = r["target"]
    if t is None:
        return "-"
    if r.get("_check") == "value<=":
        return f"<= {_num(t, r['unit'])}"
    return f">= {t:g}x"


def _verdict(r: dict[str, Any]) -> str:
    return "info" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ["benchmark", "metric", "hcsaio", "baseline", "ratio", "target", "verdict"]
    lines = [header]
    for r in rows:
        baseline = "-"
        if r["baseline"] is not None:
            baseline = f"{r['baseline']}: {_num(r['baseline_value'], r['unit'])}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        spread = r.get("spread")
        if r["ratio"] is not None and spread is not None:
            # bimodal samples (a thread woken late or not) can swing a ratio wildly
            ratio += f" ±{spread * 100:.0f}%" if spread < 10 else " ±>999%"
        lines.append(
            [
                r["name"],
                r["metric"],
                _num(r["value"], r["unit"]),
                baseline,
                ratio,
                _target(r),
                _verdict(r),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(t.rstrip() for t in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute in all")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the rows as JSON here")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write latency plots (PNG) here")
    parser.add_argument("--repeats", type=int, help="runs per benchmark (default: per benchmark)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--repeat-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker(args.worker, args.quick, args.repeat_index, args.out)
        return 0

    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "--plot needs matplotlib: pip install 'hcsaio[plot]' (or matplotlib)",
                file=sys.stderr,
            )
            return 2

    names = args.names or BENCHMARKS
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    samples: dict[str, dict[str, list[float]]] = {}
    notes: list[str] = []
    failed = []
    for name in names:
        result = run_one(name, args)
        if result is None:
            failed.append(name)
            continue
        rows += result["rows"]
        notes += [f"{name}: {n}" for n in result["notes"]]
        if result["samples"]:
            samples[name] = result["samples"]
    elapsed = time.monotonic() - started

    print(format_table(rows))
    for note in notes:
        print(f"note: {note}")
    missed = [r for r in rows if r["ok"] is False]
    # Other work on the machine is the main source of noise: say how busy it was.
    print(
        f"\n{len(rows)} rows, {sum(r['ok'] is True for r in rows)} targets met, "
        f"{len(missed)} missed, in {elapsed:.1f} s ({'quick' if args.quick else 'full'} run, "
        f"{len(os.sched_getaffinity(0))} CPUs, load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after)"
    )
    if args.json is not None:
        public = [{k: r.get(k) for k in PUBLIC_KEYS} for r in rows]
        args.json.write_text(json.dumps(public, indent=1) + "\n")
    if args.plot is not None:
        from plot import plot_latencies

        for path in plot_latencies(samples, args.plot):
            print(f"plot: {path}")
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
