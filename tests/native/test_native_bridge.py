"""The bridge's C test (bridge_test.c) built natively with gcc and run on
Linux: once as an optimised -Werror build, once under AddressSanitizer,
UBSan and LeakSanitizer. The C side checks each property itself (exit 1 on
the first failure; a sanitizer report also exits non-zero); this test runs
``run_native_tests.py`` as a subprocess and checks the exit status and the
numbers it reports. The Windows build of the same test runs under Wine in
tests/windows/test_wine_bridge.py."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_native_tests.py"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the native bridge test uses Linux fds, eventfd and dlopen"
)


def _results(output: str) -> dict[str, int]:
    spec = importlib.util.spec_from_file_location("hcsaio_run_native_tests", RUNNER)
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    found: dict[str, int] = runner.results(output)
    return found


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sanitize", [False, True], ids=["O2-Werror", "asan-ubsan-lsan"])
def test_bridge_native(sanitize: bool, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    cmd = [sys.executable, str(RUNNER), "--out-dir", str(tmp_path)]
    if sanitize:
        cmd.append("--sanitize")
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=170)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # Sanitizer reports go to stderr; with them the exit status is already
    # non-zero, but say so plainly if one ever slips through.
    assert "Sanitizer" not in proc.stderr, proc.stderr[-6000:]
    assert "runtime error:" not in proc.stderr, proc.stderr[-6000:]
    assert "native bridge test passed" in proc.stdout
    r = _results(proc.stdout)
    assert r["missing_library_fails"] == 1
    assert r["exports_resolved"] > 10
    for wake in ("", "eventfd_"):  # the socket, then the eventfd wake-up
        assert r[f"{wake}interleaved_completions"] == 20000
        assert r[f"{wake}burst_completions"] == 10000
        # Edge-triggered: a released burst of 10,000 costs a handful of wake-ups.
        assert 1 <= r[f"{wake}burst_wakes"] < 10000
        assert r[f"{wake}callback_threads"] >= 2
    assert r["eventfd_burst_wake_bytes"] % 8 == 0
    assert r["events"] == 20000
    assert r["events_after_close"] == 0
    assert r["orphans_disposed"] == 1000
    assert r["stale_token_rejected"] == 1
    assert r["process_pipe_handles_work"] == 1
    # Synchronous calls: 16 on a pool of 4, 4 given up while queued (never
    # made) and 2 while running (their handles closed by the bridge).
    assert r["sync_calls_completed"] == 10
    assert 1 <= r["sync_threads"] <= 4
    assert r["sync_skipped"] == 4
    assert r["sync_handles_disposed"] == 2
    assert r["sync_orphan_disposed"] == 1
    assert r["handles_leaked"] == 0
    assert r["leaks"] == 0
