"""HCS_OPERATION: create, close, cancel, fetch results.

Operations are created with the bridge's C trampoline as their completion
callback and the dispatcher token as their context, so completions never
run Python on HCS's threads.
"""

from __future__ import annotations

from typing import Any

from . import strings
from ._ffi import ffi, lib
from .handles import Handle, ProcessInfo, process_info
from .result import failed

_ON_EVENT = ffi.addressof(lib, "hb_on_event")

E_OUTOFMEMORY = 0x8007000E
E_PROC_NOT_FOUND = 0x8007007F


def context(token: int) -> Any:
    """A token as the ``void*`` context HCS hands back to the trampolines."""
    return ffi.cast("void *", token)


def event_callback() -> Any:
    """The C trampoline for HCS_EVENT_CALLBACK."""
    return _ON_EVENT


def create_operation(library: int, token: int) -> Handle:
    """HcsCreateOperation(token, hb_on_completion). A NULL handle (false)
    when it failed; :func:`creation_failure` says why."""
    return Handle(lib.hb_operation_create(library, token))


def creation_failure(library: int) -> int:
    """The HRESULT of a failed HcsCreateOperation: the export is missing, or
    HCS is out of memory."""
    missing = not lib.hb_library_has_export(library, _export_index("HcsCreateOperation"))
    return E_PROC_NOT_FOUND if missing else E_OUTOFMEMORY


def create_blocking_operation(library: int) -> Handle:
    """An operation without callback, for HcsWaitForOperationResult (the
    thread-pool baseline of the benchmarks). NULL (false) when it failed."""
    return Handle(lib.hb_call_HcsCreateOperation(library, ffi.NULL, ffi.NULL))


def close_operation(library: int, op: Handle) -> None:
    lib.hb_call_HcsCloseOperation(library, op)


def cancel_operation(library: int, op: Handle) -> int:
    """HcsCancelOperation. Returns the HRESULT unchecked: HCS documents it as
    always E_NOTIMPL, and hcsshim ignores the result too."""
    return int(lib.hb_call_HcsCancelOperation(library, op))


def operation_result(library: int, op: Handle) -> tuple[int, str | None]:
    """HcsGetOperationResult: (HRESULT, result document)."""
    out = strings.out_string()
    hr = lib.hb_call_HcsGetOperationResult(library, op, out)
    return int(hr), strings.take(library, out)


def wait_operation_result(
    library: int, op: Handle, timeout_ms: int, *, with_process_info: bool = False
) -> tuple[int, str | None, ProcessInfo | None]:
    """HcsWaitForOperationResult[AndProcessInfo]: blocks the calling thread
    (releasing the GIL) up to ``timeout_ms`` (0xFFFFFFFF = INFINITE)."""
    if not 0 <= timeout_ms <= 0xFFFFFFFF:
        raise ValueError(f"timeout_ms must be within 0..0xFFFFFFFF, got {timeout_ms}")
    out = strings.out_string()
    if with_process_info:
        info = ffi.new("HCS_PROCESS_INFORMATION *")
        hr = lib.hb_call_HcsWaitForOperationResultAndProcessInfo(library, op, timeout_ms, info, out)
        doc = strings.take(library, out)
        return int(hr), doc, (None if failed(hr) else process_info(info))
    hr = lib.hb_call_HcsWaitForOperationResult(library, op, timeout_ms, out)
    return int(hr), strings.take(library, out), None


_EXPORT_INDEX: dict[str, int] = {}


def _export_index(name: str) -> int:
    if not _EXPORT_INDEX:
        for i in range(lib.hb_export_count()):
            _EXPORT_INDEX[ffi.string(lib.hb_export_name(i)).decode()] = i
    return _EXPORT_INDEX[name]
