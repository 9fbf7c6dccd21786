"""Scale and leaks: 200 systems created and torn down leave nothing behind,
a thousand concurrent processes, ten thousand pending operations on a fixed
number of library threads."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from hcsaio.emulator.wire._client import ServiceClient

from . import hcsemu_abi as abi
from .conftest import Service, service_children
from .hcsemu_abi import ffi


def fd_count(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_200_systems_leave_no_fds_or_processes(
    hcs: abi.Library, service: Service, sysid: str
) -> None:
    def cycle(index: int) -> None:
        system = hcs.running_system(f"{sysid}-{index}")
        code, process, info, _ = hcs.create_process(
            system,
            {
                "CommandArgs": ["sh", "-c", "cat; sleep 600 & echo x"],
                "CreateStdInPipe": True,
                "CreateStdOutPipe": True,
                "CreateStdErrPipe": True,
            },
        )
        assert code == abi.S_OK
        for handle in (info.StdInput, info.StdOutput, info.StdError):
            os.close(int(ffi.cast("uintptr_t", handle)))
        assert hcs.wait_process(process)[0] == abi.S_OK
        hcs.HcsCloseProcess(process)
        shutdown = '{"TimeoutSeconds": 5}' if index % 2 else '{"Force": true}'
        assert hcs.system_call("HcsShutDownComputeSystem", system, shutdown)[0] == abi.S_OK
        hcs.HcsCloseComputeSystem(system)

    cycle(-1)  # warm up: the connection and the callback pool exist from now on
    before = (fd_count(), fd_count(service.process.pid))
    for index in range(200):
        cycle(index)
    assert (fd_count(), fd_count(service.process.pid)) == before
    assert service_children(service) == []  # every process and orphan reaped
    with ServiceClient(service.socket) as client:
        status = client.status()
    assert status["Systems"] == 0 and status["Processes"] == 0


@pytest.mark.slow
def test_a_thousand_concurrent_processes(hcs: abi.Library, service: Service, sysid: str) -> None:
    system = hcs.running_system(sysid)
    processes = []
    try:
        for _ in range(1000):
            code, process, _, doc = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
            assert code == abi.S_OK, doc
            processes.append(process)
        listed = hcs.properties(system, {"PropertyTypes": ["ProcessList"]})["ProcessList"]
        assert len(listed) == 1000
        assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
        for process in processes:
            assert hcs.wait_process(process, 0)[1]["ExitCode"] == 137  # type: ignore[index]
    finally:
        for process in processes:
            hcs.HcsCloseProcess(process)
        hcs.HcsCloseComputeSystem(system)
    assert service_children(service) == []


@pytest.mark.slow
def test_ten_thousand_pending_operations_on_fixed_threads(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    hcs.properties(system)  # the connection and pool are up
    threads_before = thread_count()
    completed = 0
    all_done = threading.Event()
    lock = threading.Lock()

    @ffi.callback("HCS_OPERATION_COMPLETION")
    def on_done(op: Any, context: Any) -> None:
        nonlocal completed
        assert hcs.HcsGetOperationResult(op, ffi.NULL) == abi.S_OK
        with lock:
            completed += 1
            if completed == 10_000:
                all_done.set()

    assert hcs.set_faults({"GetProperties": 3.0}) == abi.S_OK
    ops = [hcs.HcsCreateOperation(ffi.NULL, on_done) for _ in range(10_000)]
    try:
        for op in ops:
            assert hcs.HcsGetComputeSystemProperties(system, op, ffi.NULL) == abi.S_OK
        out = ffi.new("PWSTR *")
        pending = sum(
            hcs.HcsGetOperationResult(op, out) & 0xFFFFFFFF == abi.HCS_E_OPERATION_PENDING
            for op in ops
        )
        assert pending > 9_000  # all issued while the service still holds them
        assert thread_count() == threads_before  # no thread per operation
        assert all_done.wait(240)
        assert thread_count() == threads_before
    finally:
        hcs.set_faults(None)
        for op in ops:
            hcs.HcsCloseOperation(op)
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)
