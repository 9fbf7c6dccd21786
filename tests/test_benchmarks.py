"""The benchmarks keep working: ``benchmarks/run.py --quick`` runs every one
of them and writes well-formed JSON rows. Speeds are never judged here; a
missed target is a finding for the closing note, not a test failure."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"
BENCHMARKS = {"bridge", "concurrency", "schema", "stdio", "lifecycle", "events"}
REQUIRED = {
    "name",
    "metric",
    "unit",
    "value",
    "baseline",
    "baseline_value",
    "ratio",
    "target",
    "ok",
}
OPTIONAL = {"spread", "repeats"}

pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="the benchmarks drive the Linux emulator and a POSIX fake computecore",
    ),
    # the first test also pays for the whole quick run (under a minute on 2 cores)
    pytest.mark.timeout(900),
]


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Never from the repository root: the source tree has no compiled modules.
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "rows.json"
    cmd = [sys.executable, str(RUN), "--quick", "--json", str(out)]
    plots = None
    if importlib.util.find_spec("matplotlib") is not None:
        plots = tmp / "plots"
        cmd += ["--plot", str(plots)]
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=800)
    assert proc.returncode == 0, f"run.py failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return {"rows": json.loads(out.read_text()), "stdout": proc.stdout, "plots": plots}


def test_every_benchmark_reports(quick_run: dict[str, Any]) -> None:
    rows = quick_run["rows"]
    assert isinstance(rows, list)
    assert {r["name"] for r in rows} == BENCHMARKS


def test_rows_follow_the_schema(quick_run: dict[str, Any]) -> None:
    seen = set()
    for r in quick_run["rows"]:
        assert isinstance(r, dict)
        assert REQUIRED <= r.keys() <= REQUIRED | OPTIONAL, r
        assert isinstance(r["metric"], str)
        assert r["metric"]
        assert isinstance(r["unit"], str)
        assert r["unit"]
        assert _number(r["value"]), r
        if r["baseline"] is None:
            assert r["baseline_value"] is None, r
            assert r["ratio"] is None, r
        else:
            assert isinstance(r["baseline"], str), r
            assert _number(r["baseline_value"]), r
            assert r["ratio"] is None or (_number(r["ratio"]) and r["ratio"] >= 0), r
        if r["target"] is None:
            assert r["ok"] is None, r
        else:
            assert _number(r["target"]), r
            assert isinstance(r["ok"], bool), r
        if "spread" in r:
            assert r["spread"] is None or (_number(r["spread"]) and r["spread"] >= 0), r
        if "repeats" in r:
            assert isinstance(r["repeats"], int), r
            assert r["repeats"] >= 1, r
        key = (r["name"], r["metric"], r["baseline"])
        assert key not in seen, f"duplicate row {key}"
        seen.add(key)


def test_targets_are_judged(quick_run: dict[str, Any]) -> None:
    """Every benchmark the issues give a target for reports a verdict on it."""
    judged = {r["name"] for r in quick_run["rows"] if r["target"] is not None}
    assert {"bridge", "concurrency", "schema", "stdio", "lifecycle"} <= judged


def test_table_is_printed(quick_run: dict[str, Any]) -> None:
    out = quick_run["stdout"]
    header = out.splitlines()[0].split()
    assert header == ["benchmark", "metric", "hcsaio", "baseline", "ratio", "target", "verdict"]
    for name in BENCHMARKS:
        assert f"\n{name} " in out


def test_plot_is_a_png(quick_run: dict[str, Any]) -> None:
    plots = quick_run["plots"]
    if plots is None:
        pytest.skip("matplotlib is not installed (the plot extra)")
    png = plots / "bridge_latency.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_benchmark_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "no-such-benchmark"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no-such-benchmark" in proc.stderr
    assert "bridge" in proc.stderr
