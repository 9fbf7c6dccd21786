"""Host mode (no storage, or no privileges): shutdown and terminate reach
every process of the system, pause stops them, statistics and process
lists come from /proc, cancellation stops a grace period."""

from __future__ import annotations

import json
import os
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi
from .procs import alive, group_members, proc_state

# A shell that ignores SIGTERM and leaves a grandchild behind in its group.
STUBBORN = 'trap "" TERM; sleep 600 & echo started; wait'
POLITE = 'trap "echo bye; exit 0" TERM; echo started; while :; do sleep 0.05; done'
# A shell that notes SIGTERM and carries on.
NOTING = 'trap "echo term" TERM; echo started; while :; do sleep 0.05; done'


def wait_line(fd: int, expected: bytes) -> None:
    seen = b""
    while expected not in seen:
        readable, _, _ = select.select([fd], [], [], 30)
        assert readable, f"no {expected!r} in time"
        seen += os.read(fd, 1024)


@pytest.fixture
def system(hcs: abi.Library, sysid: str) -> Iterator[Any]:
    handle = hcs.running_system(sysid)
    yield handle
    hcs.system_call("HcsTerminateComputeSystem", handle)
    hcs.HcsCloseComputeSystem(handle)


def start_shell(hcs: abi.Library, system: Any, script: str) -> tuple[Any, int, int]:
    code, process, info, doc = hcs.create_process(
        system, {"CommandArgs": ["sh", "-c", script], "CreateStdOutPipe": True}
    )
    assert code == abi.S_OK, doc
    stdout = int(ffi.cast("uintptr_t", info.StdOutput))
    wait_line(stdout, b"started")
    return process, info.ProcessId, stdout


def test_processes_have_their_own_session_and_group(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, STUBBORN)
    assert os.getsid(pid) == pid and os.getpgid(pid) == pid
    assert len(group_members(pid)) == 2  # the shell and its sleep
    listed = hcs.properties(system, {"PropertyTypes": ["ProcessList"]})["ProcessList"]
    assert {p["ProcessId"] for p in listed} == set(group_members(pid))
    assert all(p["ImageName"] and p["CreateTimestamp"].endswith("Z") for p in listed)
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_shutdown_grace_then_kill_reaches_the_whole_group(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, STUBBORN)
    started = time.monotonic()
    code, _ = hcs.system_call("HcsShutDownComputeSystem", system, '{"TimeoutSeconds": 1}')
    elapsed = time.monotonic() - started
    assert code == abi.S_OK
    assert 1.0 <= elapsed < 10, elapsed  # SIGTERM was ignored: the grace ran out, then SIGKILL
    assert group_members(pid) == []
    assert hcs.wait_process(process)[1]["ExitCode"] == 137  # type: ignore[index]
    assert hcs.wait_system(system)[1] == {"Status": 0, "ExitType": "GracefulExit"}
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_shutdown_sends_sigterm_first(hcs: abi.Library, system: Any) -> None:
    process, _pid, stdout = start_shell(hcs, system, POLITE)
    started = time.monotonic()
    assert hcs.system_call("HcsShutDownComputeSystem", system)[0] == abi.S_OK  # default 10 s grace
    assert time.monotonic() - started < 5  # it left on SIGTERM, no need to wait out the grace
    wait_line(stdout, b"bye")
    assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_force_means_no_grace(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, STUBBORN)
    started = time.monotonic()
    assert hcs.system_call("HcsShutDownComputeSystem", system, '{"Force": true}')[0] == abi.S_OK
    assert time.monotonic() - started < 5
    assert group_members(pid) == []
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_terminate_kills_orphans_left_in_the_group(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, "sleep 600 & sleep 600 & echo started; exit 0")
    assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
    orphans = group_members(pid)
    assert len(orphans) == 2
    assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
    assert all(not alive(p) for p in orphans)
    assert group_members(pid) == []
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_cancel_stops_the_grace_period(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, NOTING)
    op = hcs.op()
    try:
        assert (
            hcs.HcsShutDownComputeSystem(system, op, hcs.w('{"TimeoutSeconds": 600}')) == abi.S_OK
        )
        wait_line(stdout, b"term")  # the shutdown is in its grace period now
        assert hcs.HcsCancelOperation(op) == abi.S_OK
        assert hcs.wait(op, 10_000)[0] == abi.ERROR_CANCELLED
    finally:
        hcs.HcsCloseOperation(op)
    assert hcs.properties(system)["State"] == "Running"  # the SIGTERM stays sent; nothing else
    assert alive(pid)
    assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
    assert not alive(pid)
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_terminate_overtakes_a_graceful_shutdown(hcs: abi.Library, system: Any) -> None:
    process, _pid, stdout = start_shell(hcs, system, STUBBORN)
    shutdown = hcs.op()
    try:
        assert (
            hcs.HcsShutDownComputeSystem(system, shutdown, hcs.w('{"TimeoutSeconds": 600}'))
            == abi.S_OK
        )
        started = time.monotonic()
        assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
        assert hcs.wait(shutdown, 30_000)[0] == abi.S_OK  # it ends with the system
        assert time.monotonic() - started < 10
    finally:
        hcs.HcsCloseOperation(shutdown)
    assert hcs.wait_system(system)[1] == {"Status": 0, "ExitType": "ForcedExit"}
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_pause_stops_every_process(hcs: abi.Library, system: Any) -> None:
    process, pid, stdout = start_shell(hcs, system, STUBBORN)
    members = group_members(pid)
    assert hcs.system_call("HcsPauseComputeSystem", system)[0] == abi.S_OK
    assert all(proc_state(p) == "T" for p in members)
    code, _, _, _ = hcs.create_process(system, {"CommandArgs": ["true"]})
    assert code == abi.HCS_E_INVALID_STATE
    assert hcs.system_call("HcsResumeComputeSystem", system)[0] == abi.S_OK
    assert all(proc_state(p) in ("S", "R") for p in members)
    # Terminating a paused system works too.
    assert hcs.system_call("HcsPauseComputeSystem", system)[0] == abi.S_OK
    assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
    assert group_members(pid) == []
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_statistics_follow_the_processes(hcs: abi.Library, system: Any) -> None:
    work = (
        "import time; x = bytearray(64 << 20); end = time.process_time() + 0.3\n"
        "while time.process_time() < end: pass\n"
        "print('started', flush=True); time.sleep(600)"
    )
    process, _pid, stdout = start_shell(hcs, system, f'exec python3 -c "{work}"')
    stats = hcs.properties(system, {"PropertyTypes": ["Statistics"]})["Statistics"]
    assert stats["Processor"]["TotalRuntime100ns"] >= 3_000_000
    assert stats["Processor"]["TotalRuntime100ns"] == (
        stats["Processor"]["RuntimeUser100ns"] + stats["Processor"]["RuntimeKernel100ns"]
    )
    memory = stats["Memory"]
    assert memory["MemoryUsagePrivateWorkingSetBytes"] >= 64 << 20
    assert memory["MemoryUsageCommitBytes"] >= 64 << 20
    assert memory["MemoryUsageCommitPeakBytes"] >= memory["MemoryUsageCommitBytes"]
    assert stats["Uptime100ns"] > 0
    os.close(stdout)
    hcs.HcsCloseProcess(process)


def test_concurrent_operations_on_one_system(hcs: abi.Library, system: Any) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                code, process, _info, _ = hcs.create_process(system, {"CommandArgs": ["true"]})
                assert code == abi.S_OK
                assert hcs.wait_process(process)[1]["ExitCode"] == 0  # type: ignore[index]
                hcs.HcsCloseProcess(process)
                hcs.properties(system, {"PropertyTypes": ["ProcessList"]})
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert json.loads(json.dumps(hcs.properties(system)))["State"] == "Running"
