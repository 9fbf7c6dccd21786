"""Event callbacks through the ABI (reference 4.2): one per handle, delivered
on library threads in order, drained by close, operation callbacks."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi, hr

SYSTEM_EXITED = 0x00000001
PROCESS_EXITED = 0x00010000
OPERATION_CALLBACK = 0x01000000
ENABLE_OPERATION_CALLBACKS = 0x1


def waiting_process(hcs: abi.Library, system: Any) -> tuple[Any, int]:
    """A process that exits once its stdin closes: callbacks can be in
    place before its ProcessExited."""
    code, process, info, _ = hcs.create_process(
        system, {"CommandArgs": ["cat"], "CreateStdInPipe": True}
    )
    assert code == abi.S_OK
    return process, int(ffi.cast("uintptr_t", info.StdInput))


def test_one_callback_per_handle_and_system_exited_once(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    log, other = abi.EventLog(), abi.EventLog()
    try:
        assert hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, log.callback) == abi.S_OK
        again = hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, other.callback)
        assert hr(again) == abi.HCS_E_CALLBACK_ALREADY_SET
        assert (
            hr(hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, ffi.NULL)) == abi.E_INVALIDARG
        )
        assert (
            hr(hcs.HcsSetComputeSystemCallback(system, 0x100, ffi.NULL, other.callback))
            == abi.E_INVALIDARG
        )
        # A second handle of the same system registers its own callback.
        opened = ffi.new("HCS_SYSTEM *")
        assert hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, opened) == abi.S_OK
        assert hcs.HcsSetComputeSystemCallback(opened[0], 0, ffi.NULL, other.callback) == abi.S_OK
        assert hcs.system_call("HcsShutDownComputeSystem", system) == (abi.S_OK, None)
        for events in (log, other):
            events.wait_for(lambda e: len(e) >= 1)
        hcs.HcsCloseComputeSystem(opened[0])
        time.sleep(0.2)  # a duplicate would be queued right behind the first
        assert log.types() == [SYSTEM_EXITED] and other.types() == [SYSTEM_EXITED]
        _kind, data, _, thread = log.events[0]
        assert json.loads(data or "") == {"Status": 0, "ExitType": "GracefulExit"}
        assert thread != threading.get_ident()
    finally:
        hcs.HcsCloseComputeSystem(system)


def test_process_exited_is_for_process_handles_only(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    system_log, process_log = abi.EventLog(), abi.EventLog()
    try:
        assert hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, system_log.callback) == abi.S_OK
        _code, process, info, _ = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
        assert hcs.HcsSetProcessCallback(process, 0, ffi.NULL, process_log.callback) == abi.S_OK
        assert (
            hr(hcs.HcsSetProcessCallback(process, 0, ffi.NULL, process_log.callback))
            == abi.HCS_E_CALLBACK_ALREADY_SET
        )
        assert hcs.system_call("HcsTerminateComputeSystem", system)[0] == abi.S_OK
        process_log.wait_for(lambda e: len(e) == 1)
        system_log.wait_for(lambda e: len(e) == 1)
        kind, data, _, _ = process_log.events[0]
        assert kind == PROCESS_EXITED
        assert json.loads(data or "") == {
            "ProcessId": info.ProcessId,
            "Exited": True,
            "ExitCode": 137,
            "LastWaitResult": 0,
        }
        assert system_log.types() == [SYSTEM_EXITED]
        assert json.loads(system_log.events[0][1] or "")["ExitType"] == "ForcedExit"
        hcs.HcsCloseProcess(process)
    finally:
        hcs.HcsCloseComputeSystem(system)


def test_an_exit_before_the_callback_reaches_it_once_set(hcs: abi.Library, sysid: str) -> None:
    """HcsCreateProcess, then HcsSetProcessCallback: a process quick enough
    to exit in between must still report its exit (hcsaio registers right
    after the call; losing the event hung Process.wait)."""
    system = hcs.running_system(sysid)
    try:
        _code, process, info, _ = hcs.create_process(system, {"CommandArgs": ["true"]})
        code, status = hcs.wait_process(process)  # the exit event is in by now
        assert code == abi.S_OK and status is not None and status["Exited"]
        log = abi.EventLog()
        assert hcs.HcsSetProcessCallback(process, 0, ffi.NULL, log.callback) == abi.S_OK
        log.wait_for(lambda e: len(e) >= 1)
        time.sleep(0.2)  # a duplicate would be queued right behind it
        assert log.types() == [PROCESS_EXITED]
        _kind, data, _, thread = log.events[0]
        assert json.loads(data or "") == status
        assert status["ProcessId"] == info.ProcessId
        assert thread != threading.get_ident()
        hcs.HcsCloseProcess(process)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_close_waits_for_a_running_callback_and_no_event_follows(
    hcs: abi.Library, sysid: str
) -> None:
    system = hcs.running_system(sysid)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    @ffi.callback("HCS_EVENT_CALLBACK")
    def slow(event: Any, context: Any) -> None:
        calls.append(event.Type)
        entered.set()
        release.wait(30)

    process, stdin = waiting_process(hcs, system)
    assert hcs.HcsSetProcessCallback(process, 0, ffi.NULL, slow) == abi.S_OK
    os.close(stdin)  # now it may exit
    assert entered.wait(30)  # ProcessExited is running in the callback now
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (hcs.HcsCloseProcess(process), closed.set()))
    closer.start()
    assert not closed.wait(0.3), "close returned while the callback still ran"
    release.set()
    assert closed.wait(30)
    closer.join()
    assert calls == [PROCESS_EXITED]
    # Closing a system handle stops its events at once.
    log = abi.EventLog()
    assert hcs.HcsSetComputeSystemCallback(system, 0, ffi.NULL, log.callback) == abi.S_OK
    opened = ffi.new("HCS_SYSTEM *")
    assert hcs.HcsOpenComputeSystem(hcs.w(sysid), 0x10000000, opened) == abi.S_OK
    hcs.HcsCloseComputeSystem(system)
    assert hcs.system_call("HcsTerminateComputeSystem", opened[0])[0] == abi.S_OK
    assert hcs.wait_system(opened[0])[0] == abi.S_OK
    hcs.HcsCloseComputeSystem(opened[0])
    time.sleep(0.2)
    assert log.types() == []


def test_a_callback_may_close_its_own_handle(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    done = threading.Event()
    handle: list[Any] = []

    @ffi.callback("HCS_EVENT_CALLBACK")
    def closes_itself(event: Any, context: Any) -> None:
        hcs.HcsCloseProcess(handle[0])  # HCS forbids it; the emulator must not deadlock
        done.set()

    try:
        process, stdin = waiting_process(hcs, system)
        handle.append(process)
        assert hcs.HcsSetProcessCallback(process, 0, ffi.NULL, closes_itself) == abi.S_OK
        os.close(stdin)
        assert done.wait(30)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_operation_callbacks_arrive_as_events(hcs: abi.Library, sysid: str) -> None:
    system = hcs.running_system(sysid)
    log = abi.EventLog()
    try:
        assert (
            hcs.HcsSetComputeSystemCallback(
                system, ENABLE_OPERATION_CALLBACKS, ffi.NULL, log.callback
            )
            == abi.S_OK
        )

        # An operation with its own completion callback is refused on that handle.
        @ffi.callback("HCS_OPERATION_COMPLETION")
        def never(op: Any, context: Any) -> None:
            raise AssertionError("not for this handle")

        refused = hcs.HcsCreateOperation(ffi.NULL, never)
        code = hcs.HcsGetComputeSystemProperties(system, refused, ffi.NULL)
        assert hr(code) == abi.HCS_E_CALLBACK_ALREADY_SET
        hcs.HcsCloseOperation(refused)
        # One without a completion callback: its completion is an event that
        # carries the operation (whose context says whose it is).
        op = hcs.HcsCreateOperation(ffi.cast("void *", 77), ffi.NULL)
        assert hcs.HcsGetComputeSystemProperties(system, op, ffi.NULL) == abi.S_OK
        log.wait_for(lambda e: len(e) == 1)
        kind, data, operation, _ = log.events[0]
        assert kind == OPERATION_CALLBACK and data is None
        assert operation == int(ffi.cast("uintptr_t", op))
        assert hcs.wait(op)[0] == abi.S_OK
        hcs.HcsCloseOperation(op)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_operation_callback_inside_event_callback_resolves_the_context(
    hcs: abi.Library, sysid: str
) -> None:
    """The bridge's pattern: HcsGetOperationContext(event->Operation) inside the callback."""
    system = hcs.running_system(sysid)
    contexts: list[int] = []
    done = threading.Event()

    @ffi.callback("HCS_EVENT_CALLBACK")
    def on_event(event: Any, context: Any) -> None:
        if event.Type == OPERATION_CALLBACK:
            contexts.append(int(ffi.cast("uintptr_t", hcs.HcsGetOperationContext(event.Operation))))
            out = ffi.new("PWSTR *")
            contexts.append(hr(hcs.HcsGetOperationResult(event.Operation, out)))
            hcs.take(out)
            done.set()

    try:
        assert (
            hcs.HcsSetComputeSystemCallback(system, ENABLE_OPERATION_CALLBACKS, ffi.NULL, on_event)
            == abi.S_OK
        )
        op = hcs.HcsCreateOperation(ffi.cast("void *", 1234), ffi.NULL)
        assert hcs.HcsPauseComputeSystem(system, op, ffi.NULL) == abi.S_OK
        assert done.wait(30)
        assert contexts == [1234, abi.S_OK]
        hcs.HcsCloseOperation(op)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)


def test_events_of_a_handle_keep_their_order(hcs: abi.Library, sysid: str) -> None:
    """Completion events of operations on a process handle, then its exit:
    one worker per handle keeps them in the order the service sent them."""
    system = hcs.running_system(sysid)
    try:
        _code, process, _info, _ = hcs.create_process(system, {"CommandArgs": ["sleep", "600"]})
        log = abi.EventLog()
        assert (
            hcs.HcsSetProcessCallback(process, ENABLE_OPERATION_CALLBACKS, ffi.NULL, log.callback)
            == abi.S_OK
        )
        ops = []
        for _ in range(20):
            op = hcs.HcsCreateOperation(ffi.NULL, ffi.NULL)
            assert hcs.HcsGetProcessProperties(process, op, ffi.NULL) == abi.S_OK
            ops.append(op)
        kill = hcs.HcsCreateOperation(ffi.NULL, ffi.NULL)
        assert hcs.HcsTerminateProcess(process, kill, ffi.NULL) == abi.S_OK
        log.wait_for(lambda e: PROCESS_EXITED in [x[0] for x in e])
        order = [x[2] for x in log.events if x[0] == OPERATION_CALLBACK]
        assert order == [int(ffi.cast("uintptr_t", op)) for op in [*ops, kill]]
        assert log.types()[-1] == PROCESS_EXITED
        for op in [*ops, kill]:
            hcs.HcsCloseOperation(op)
        hcs.HcsCloseProcess(process)
    finally:
        hcs.system_call("HcsTerminateComputeSystem", system)
        hcs.HcsCloseComputeSystem(system)
