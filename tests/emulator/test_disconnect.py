"""The service dies: every handle hears HcsEventServiceDisconnect, pending
operations fail with HCS_E_SERVICE_DISCONNECT, waits return, nothing hangs;
the next call that needs a service connects to a new one."""

from __future__ import annotations

import json
import os
import select
import threading
from pathlib import Path
from typing import Any

from . import hcsemu_abi as abi
from .conftest import Service, start_service
from .hcsemu_abi import ffi, hr

SERVICE_DISCONNECT = 0x02000000


def assert_exits(pid: int) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        assert select.select([pidfd], [], [], 30)[0], f"process {pid} outlived its service"
    finally:
        os.close(pidfd)


def test_service_killed_mid_operation(
    hcs: abi.Library, service: Service, sysid: str, tmp_path: Path
) -> None:
    system = hcs.running_system(sysid)
    code, process, info, _ = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
    assert code == abi.S_OK
    system_log, process_log = abi.EventLog(), abi.EventLog()
    assert hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, system_log.callback) == abi.S_OK
    assert hcs.HcsSetProcessCallback(process, 0, ffi.NULL, process_log.callback) == abi.S_OK
    assert hcs.set_faults({"Start": 600, "GetProperties": 600}) == abi.S_OK

    completions: list[int] = []
    completed = threading.Event()

    @ffi.callback("HCS_OPERATION_COMPLETION")
    def on_done(op: Any, context: Any) -> None:
        completions.append(hr(hcs.HcsGetOperationResult(op, ffi.NULL)))
        completed.set()

    pending = hcs.HcsCreateOperation(ffi.NULL, on_done)
    assert hcs.HcsGetComputeSystemProperties(system, pending, ffi.NULL) == abi.S_OK
    waited = hcs.op()
    assert hcs.HcsGetComputeSystemProperties(system, waited, ffi.NULL) == abi.S_OK
    results: dict[str, Any] = {}
    waiters = [
        threading.Thread(target=lambda: results.__setitem__("op", hcs.wait(waited, abi.INFINITE))),
        threading.Thread(
            target=lambda: results.__setitem__("process", hcs.wait_process(process, abi.INFINITE))
        ),
        threading.Thread(
            target=lambda: results.__setitem__("system", hcs.wait_system(system, abi.INFINITE))
        ),
    ]
    for thread in waiters:
        thread.start()

    service.kill()

    for thread in waiters:
        thread.join(30)
        assert not thread.is_alive(), "a wait hung after the service died"
    for name in ("op", "process", "system"):
        code, doc = results[name]
        assert code == abi.HCS_E_SERVICE_DISCONNECT, name
        error = json.loads(doc) if isinstance(doc, str) else doc  # a ResultError
        assert error is not None and hr(error["Error"]) == abi.HCS_E_SERVICE_DISCONNECT
    assert completed.wait(30) and completions == [abi.HCS_E_SERVICE_DISCONNECT]
    system_log.wait_for(lambda e: SERVICE_DISCONNECT in [x[0] for x in e])
    process_log.wait_for(lambda e: SERVICE_DISCONNECT in [x[0] for x in e])

    # Calls on the old handles fail at once; nothing waits.
    assert hcs.system_call("HcsStartComputeSystem", system)[0] == abi.HCS_E_SERVICE_DISCONNECT
    assert hcs.wait_system(system, abi.INFINITE)[0] == abi.HCS_E_SERVICE_DISCONNECT
    late = hcs.op()
    assert hr(hcs.HcsTerminateProcess(process, late, ffi.NULL)) == abi.HCS_E_SERVICE_DISCONNECT
    hcs.HcsCloseOperation(late)
    for handle_close, handle in (
        (hcs.HcsCloseProcess, process),
        (hcs.HcsCloseComputeSystem, system),
    ):
        handle_close(handle)
    hcs.HcsCloseOperation(pending)
    hcs.HcsCloseOperation(waited)
    # The SIGKILLed service could not stop its host-mode process: its
    # watchdog did.
    assert_exits(info.ProcessId)
    # A new service: connection-level calls reconnect.
    replacement = start_service(tmp_path / "second")
    os.environ["HCSAIO_EMULATOR_SOCKET"] = replacement.socket
    try:
        code, listing = hcs.call(lambda op: hcs.HcsEnumerateComputeSystems(ffi.NULL, op))
        assert code == abi.S_OK and listing == "[]"
    finally:
        assert replacement.stop() == 0


def test_no_service(library: abi.Library, tmp_path: Path) -> None:
    previous = os.environ.get("HCSAIO_EMULATOR_SOCKET")
    try:
        for value in (None, str(tmp_path / "absent.sock"), "x" * 200):
            if value is None:
                os.environ.pop("HCSAIO_EMULATOR_SOCKET", None)
            else:
                os.environ["HCSAIO_EMULATOR_SOCKET"] = value
            code, _ = library.call(lambda op: library.HcsEnumerateComputeSystems(ffi.NULL, op))
            assert code == abi.HCS_E_SERVICE_NOT_AVAILABLE
            out = ffi.new("PWSTR *")
            assert (
                hr(library.HcsGetServiceProperties(ffi.NULL, out))
                == abi.HCS_E_SERVICE_NOT_AVAILABLE
            )
            system = ffi.new("HCS_SYSTEM *")
            code = library.HcsOpenComputeSystem(library.w("x"), 0x10000000, system)
            assert hr(code) == abi.HCS_E_SERVICE_NOT_AVAILABLE
    finally:
        if previous is None:
            os.environ.pop("HCSAIO_EMULATOR_SOCKET", None)
        else:
            os.environ["HCSAIO_EMULATOR_SOCKET"] = previous


def test_host_processes_die_with_a_killed_service(
    hcs: abi.Library, service: Service, sysid: str
) -> None:
    system = hcs.running_system(sysid)
    code, process, info, _ = hcs.create_process(
        system, {"CommandArgs": ["sh", "-c", "sleep 600 & echo $!; wait"], "CreateStdOutPipe": True}
    )
    assert code == abi.S_OK
    with os.fdopen(int(ffi.cast("uintptr_t", info.StdOutput)), "rb") as stdout:
        grandchild = int(stdout.readline())
        service.kill()  # no shutdown path runs: only the watchdog is left
        for pid in (info.ProcessId, grandchild):
            assert_exits(pid)
    hcs.HcsCloseProcess(process)
    hcs.HcsCloseComputeSystem(system)
