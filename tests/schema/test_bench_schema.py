"""benchmarks/bench_schema.py runs and returns the row shape the benchmark harness reads.

Only the structure is checked here; the ratios are for ``nox -s bench`` to judge.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_schema.py"
KEYS = {"name", "metric", "unit", "value", "baseline", "baseline_value", "ratio", "target", "ok"}


@pytest.mark.skipif(not BENCH.is_file(), reason="needs the repository checkout")
def test_quick_run_returns_one_row_per_document_direction_baseline() -> None:
    pytest.importorskip("pydantic")
    spec = importlib.util.spec_from_file_location("bench_schema", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    rows = module.run(quick=True)
    assert len(rows) == 2 * 2 * 2
    for row in rows:
        assert set(row) == KEYS
        assert row["name"] == "schema" and row["unit"] == "us"
        assert row["value"] > 0 and row["baseline_value"] > 0
        assert row["ok"] == (row["ratio"] >= row["target"])
    assert {(r["metric"], r["baseline"]) for r in rows} == {
        (f"{doc} {direction}", baseline)
        for doc in ("ComputeSystem(container)", "Properties(stats+100 processes)")
        for direction in ("encode", "decode")
        for baseline in ("stdlib json+dataclasses", "pydantic v2")
    }
    print(module.format_table(rows))
