"""The bridge's Windows build (mingw-w64, -Werror) runs under Wine against a
Windows DLL build of the fake computecore: loading, completions and events
from Windows threads through the queue and the socket wake-up, orphans, no
leaks. The C side (wine_bridge_test.c) checks each property itself; this
test builds it, runs it, and checks the numbers it reports."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest


@pytest.mark.timeout(1200)
def test_bridge_under_wine(
    mingw_cc: str, wine: str, wine_bridge: ModuleType, tmp_path: Path
) -> None:
    runner = wine_bridge
    built = runner.build(tmp_path, mingw_cc)
    proc = runner.run_under_wine(built, wine)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "wine bridge test passed" in proc.stdout
    r = runner.results(proc.stdout)
    assert r["system32_only_ignores_planted_dll"] == 1
    assert r["interleaved_completions"] == 20000
    assert r["burst_completions"] == 10000
    # A released burst of 10,000 completions costs a handful of wake-ups.
    assert 1 <= r["burst_wakes"] < 10000
    assert r["callback_threads"] >= 2
    assert r["events"] == 20000
    assert r["events_after_close"] == 0
    assert r["orphans_disposed"] == 1000
    assert r["process_pipe_handles_work"] == 1
    assert r["leaks"] == 0
