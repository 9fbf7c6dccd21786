"""HCS_OPERATION through the ABI (reference 3.1 and 4.1), with the
emulator's documented extensions (cancellation, single hand-out of stdio)."""

from __future__ import annotations

import json
import threading
from typing import Any

from . import hcsemu_abi as abi
from .hcsemu_abi import ffi, hr

GARBAGE = ffi.cast("HCS_OPERATION", 0x1234560)


def test_new_operation_is_not_started(hcs: abi.Library) -> None:
    op = hcs.op()
    try:
        assert hcs.HcsGetOperationType(op) == -1  # HcsOperationTypeNone
        assert hcs.HcsGetOperationId(op) not in (0, (1 << 64) - 1)
        out = ffi.new("PWSTR *")
        assert hr(hcs.HcsGetOperationResult(op, out)) == abi.HCS_E_OPERATION_NOT_STARTED
        assert out[0] == ffi.NULL
        assert hr(hcs.HcsWaitForOperationResult(op, 10, out)) == abi.HCS_E_OPERATION_NOT_STARTED
        info = ffi.new("HCS_PROCESS_INFORMATION *")
        code = hcs.HcsGetOperationResultAndProcessInfo(op, info, out)
        assert hr(code) == abi.HCS_E_OPERATION_NOT_STARTED
        assert hr(hcs.HcsCancelOperation(op)) == abi.HCS_E_OPERATION_NOT_STARTED
        assert hcs.HcsGetComputeSystemFromOperation(op) == ffi.NULL
        assert hcs.HcsGetProcessFromOperation(op) == ffi.NULL
    finally:
        hcs.HcsCloseOperation(op)


def test_operation_ids_are_unique(hcs: abi.Library) -> None:
    ops = [hcs.op() for _ in range(50)]
    try:
        assert len({hcs.HcsGetOperationId(op) for op in ops}) == 50
    finally:
        for op in ops:
            hcs.HcsCloseOperation(op)


def test_context_round_trip(hcs: abi.Library) -> None:
    op = hcs.HcsCreateOperation(ffi.cast("void *", 7), ffi.NULL)
    try:
        assert int(ffi.cast("uintptr_t", hcs.HcsGetOperationContext(op))) == 7
        assert hcs.HcsSetOperationContext(op, ffi.cast("void *", 9)) == abi.S_OK
        assert int(ffi.cast("uintptr_t", hcs.HcsGetOperationContext(op))) == 9
    finally:
        hcs.HcsCloseOperation(op)


def test_invalid_and_closed_operations_are_e_handle(hcs: abi.Library, sysid: str) -> None:
    closed = hcs.op()
    hcs.HcsCloseOperation(closed)
    out = ffi.new("PWSTR *")
    system = ffi.new("HCS_SYSTEM *")
    for op in (ffi.NULL, GARBAGE, closed):
        assert hcs.HcsGetOperationType(op) == -1
        assert hcs.HcsGetOperationId(op) == (1 << 64) - 1
        assert hcs.HcsGetOperationContext(op) == ffi.NULL
        assert hr(hcs.HcsSetOperationContext(op, ffi.NULL)) == abi.E_HANDLE
        assert hr(hcs.HcsGetOperationResult(op, out)) == abi.E_HANDLE
        assert hr(hcs.HcsWaitForOperationResult(op, 0, out)) == abi.E_HANDLE
        assert hr(hcs.HcsCancelOperation(op)) == abi.E_HANDLE
        assert hr(hcs.HcsSetOperationCallback(op, ffi.NULL, ffi.NULL)) == abi.E_HANDLE
        assert hr(hcs.HcsGetOperationProperties(op, ffi.NULL, out)) == abi.E_HANDLE
        code = hcs.HcsAddResourceToOperation(op, 1, hcs.w("file://x"), ffi.NULL)
        assert hr(code) == abi.E_HANDLE
        doc = hcs.w(json.dumps(abi.container_doc()))
        code = hcs.HcsCreateComputeSystem(hcs.w(sysid), doc, op, ffi.NULL, system)
        assert hr(code) == abi.E_HANDLE
        assert system[0] == ffi.NULL
        assert hr(hcs.HcsEnumerateComputeSystems(ffi.NULL, op)) == abi.E_HANDLE
        hcs.HcsCloseOperation(op)  # harmless


def test_completion_runs_on_a_library_thread_and_can_close_the_op(
    hcs: abi.Library, sysid: str
) -> None:
    seen: dict[str, Any] = {}
    done = threading.Event()

    @ffi.callback("HCS_OPERATION_COMPLETION")
    def on_done(op: Any, context: Any) -> None:
        out = ffi.new("PWSTR *")
        seen["type"] = hcs.HcsGetOperationType(op)
        seen["result"] = hr(hcs.HcsGetOperationResult(op, out))
        seen["doc"] = hcs.take(out)
        seen["context"] = int(ffi.cast("uintptr_t", context))
        seen["thread"] = threading.get_ident()
        hcs.HcsCloseOperation(op)  # documented as allowed inside the callback
        done.set()

    op = hcs.HcsCreateOperation(ffi.cast("void *", 42), on_done)
    assert hr(hcs.HcsEnumerateComputeSystems(ffi.NULL, op)) == abi.S_OK
    assert done.wait(30)
    assert seen["type"] == 0  # HcsOperationTypeEnumerate
    assert seen["result"] == abi.S_OK
    assert json.loads(seen["doc"]) == []
    assert seen["context"] == 42
    assert seen["thread"] != threading.get_ident()
    assert hcs.HcsGetOperationType(op) == -1  # closed by the callback


def test_results_can_be_fetched_repeatedly(hcs: abi.Library) -> None:
    op = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(hcs.w('{"Owners": ["nobody"]}'), op) == abi.S_OK
        first = hcs.wait(op)
        out = ffi.new("PWSTR *")
        assert hr(hcs.HcsGetOperationResult(op, out)) == abi.S_OK
        assert (abi.S_OK, hcs.take(out)) == first
        assert hr(hcs.HcsGetOperationResult(op, ffi.NULL)) == abi.S_OK  # no document wanted
    finally:
        hcs.HcsCloseOperation(op)


def test_an_operation_is_used_once(hcs: abi.Library) -> None:
    op = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
        again = hcs.HcsEnumerateComputeSystems(ffi.NULL, op)
        assert hr(again) == abi.HCS_E_OPERATION_ALREADY_STARTED
        cb = ffi.cast("HCS_OPERATION_COMPLETION", 0)
        assert (
            hr(hcs.HcsSetOperationCallback(op, ffi.NULL, cb)) == abi.HCS_E_OPERATION_ALREADY_STARTED
        )
        assert hcs.wait(op)[0] == abi.S_OK
    finally:
        hcs.HcsCloseOperation(op)


def test_pending_then_timeout_then_result(hcs: abi.Library) -> None:
    assert hcs.set_faults({"Enumerate": 1.0}) == abi.S_OK
    op = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
        out = ffi.new("PWSTR *")
        assert hr(hcs.HcsGetOperationResult(op, out)) == abi.HCS_E_OPERATION_PENDING
        assert hr(hcs.HcsWaitForOperationResult(op, 50, out)) == abi.HCS_E_OPERATION_TIMEOUT
        assert out[0] == ffi.NULL
        assert hcs.wait(op) == (abi.S_OK, "[]")  # the timeout did not stop it
    finally:
        hcs.HcsCloseOperation(op)


def test_cancel_a_pending_operation(hcs: abi.Library) -> None:
    assert hcs.set_faults({"Enumerate": 60}) == abi.S_OK
    op = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
        assert hcs.HcsCancelOperation(op) == abi.S_OK
        code, doc = hcs.wait(op, 10_000)
        assert code == abi.ERROR_CANCELLED
        assert doc is not None and json.loads(doc)["Error"] == -2147023673
        assert hcs.HcsCancelOperation(op) == abi.S_OK  # finished: no effect
        assert hcs.wait(op, 0)[0] == abi.ERROR_CANCELLED
    finally:
        hcs.HcsCloseOperation(op)


def test_closing_a_running_operation_discards_its_result(hcs: abi.Library) -> None:
    assert hcs.set_faults({"Enumerate": 0.3}) == abi.S_OK
    fired = threading.Event()

    @ffi.callback("HCS_OPERATION_COMPLETION")
    def on_done(op: Any, context: Any) -> None:
        fired.set()

    op = hcs.HcsCreateOperation(ffi.NULL, on_done)
    assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
    hcs.HcsCloseOperation(op)
    # The operation still finishes in the service; a later one proves it has.
    follow = hcs.op()
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, follow) == abi.S_OK
        assert hcs.wait(follow)[0] == abi.S_OK
    finally:
        hcs.HcsCloseOperation(follow)
    assert not fired.is_set()


def test_synchronous_failure_fires_no_callback_and_keeps_the_error(hcs: abi.Library) -> None:
    fired = threading.Event()

    @ffi.callback("HCS_OPERATION_COMPLETION")
    def on_done(op: Any, context: Any) -> None:
        fired.set()

    op = hcs.HcsCreateOperation(ffi.NULL, on_done)
    try:
        code = hcs.HcsStartComputeSystem(ffi.cast("HCS_SYSTEM", 0x999), op, ffi.NULL)
        assert hr(code) == abi.E_HANDLE
        out = ffi.new("PWSTR *")
        assert hr(hcs.HcsGetOperationResult(op, out)) == abi.E_HANDLE
        doc = json.loads(hcs.take(out) or "{}")
        assert hr(doc["Error"]) == abi.E_HANDLE and doc["ErrorMessage"]
        assert hcs.HcsGetOperationType(op) == 2  # Start
        # Completion runs on the pool: give a wrongly queued one a chance to show.
        probe = hcs.op()
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, probe) == abi.S_OK
        hcs.wait(probe)
        hcs.HcsCloseOperation(probe)
        assert not fired.is_set()
    finally:
        hcs.HcsCloseOperation(op)


def test_operation_properties_and_refused_extras(hcs: abi.Library) -> None:
    op = hcs.op()
    try:
        out = ffi.new("PWSTR *")
        assert hcs.HcsGetOperationProperties(op, ffi.NULL, out) == abi.S_OK
        props = json.loads(hcs.take(out) or "")
        assert props["State"] == "NotStarted" and props["OperationType"] == -1
        assert hr(hcs.HcsGetOperationProperties(op, ffi.NULL, ffi.NULL)) == abi.E_POINTER
        code = hcs.HcsAddResourceToOperation(op, 1, hcs.w("file://x"), ffi.NULL)
        assert hr(code) == abi.E_NOTIMPL
        assert hr(hcs.HcsAddResourceToOperation(op, 99, hcs.w("x"), ffi.NULL)) == abi.E_INVALIDARG
        features = ffi.new("PCWSTR *")
        code = hcs.HcsGetProcessorCompatibilityFromSavedState(hcs.w("/x.vmrs"), features)
        assert hr(code) == abi.HCS_E_HYPERV_NOT_INSTALLED and features[0] == ffi.NULL
    finally:
        hcs.HcsCloseOperation(op)


def test_operation_with_notifications_hears_its_completion(hcs: abi.Library) -> None:
    log = abi.EventLog()
    op = hcs.HcsCreateOperationWithNotifications(0, ffi.cast("void *", 5), log.callback)
    assert op != ffi.NULL
    try:
        assert hcs.HcsEnumerateComputeSystems(ffi.NULL, op) == abi.S_OK
        log.wait_for(lambda events: len(events) == 1)
        kind, _data, operation, _ = log.events[0]
        assert kind == 0x01000000  # HcsEventOperationCallback
        assert operation == int(ffi.cast("uintptr_t", op))
        assert hcs.wait(op)[0] == abi.S_OK
    finally:
        hcs.HcsCloseOperation(op)
    assert hcs.HcsCreateOperationWithNotifications(0x100, ffi.NULL, log.callback) == ffi.NULL
    assert hcs.HcsCreateOperationWithNotifications(0, ffi.NULL, ffi.NULL) == ffi.NULL
