"""Process calls (computecore §3.3)."""

from __future__ import annotations

from typing import Final

from . import strings
from ._calls import started
from ._ffi import ffi, lib
from .handles import Handle
from .operation import context, event_callback
from .result import check

_OPTION_CALLS: Final = {
    "HcsTerminateProcess": lib.hb_call_HcsTerminateProcess,
    "HcsSignalProcess": lib.hb_call_HcsSignalProcess,
    "HcsGetProcessProperties": lib.hb_call_HcsGetProcessProperties,
    "HcsModifyProcess": lib.hb_call_HcsModifyProcess,
}


def create(library: int, system: Handle, parameters: str, op: Handle, *, id: str) -> Handle:
    """HcsCreateProcess; the pid and std handles come with the completion."""
    out = ffi.new("HCS_PROCESS *")
    hr = lib.hb_call_HcsCreateProcess(
        library, system, strings.wide(parameters, "process parameters"), op, ffi.NULL, out
    )
    started(hr, "HcsCreateProcess", library, op, id=id)
    return Handle(out[0])


def close(library: int, process: Handle) -> None:
    lib.hb_call_HcsCloseProcess(library, process)


def call(
    name: str, library: int, process: Handle, op: Handle, argument: str | None, *, id: str, pid: int
) -> None:
    """Start one of the (process, operation, options) calls by export name."""
    hr = _OPTION_CALLS[name](library, process, op, strings.wide(argument, "options"))
    started(hr, name, library, op, id=id, pid=pid)


def get_info(library: int, process: Handle, op: Handle, *, id: str, pid: int) -> None:
    hr = lib.hb_call_HcsGetProcessInfo(library, process, op)
    started(hr, "HcsGetProcessInfo", library, op, id=id, pid=pid)


def set_callback(
    library: int, process: Handle, token: int, options: int, *, id: str, pid: int
) -> None:
    hr = lib.hb_call_HcsSetProcessCallback(
        library, process, options, context(token), event_callback()
    )
    check(hr, "HcsSetProcessCallback", id=id, pid=pid)


def wait_for_exit(
    library: int, process: Handle, timeout_ms: int, *, id: str, pid: int
) -> str | None:
    """HcsWaitForProcessExit (blocking): the ProcessStatus document."""
    out = strings.out_string()
    hr = lib.hb_call_HcsWaitForProcessExit(library, process, timeout_ms, out)
    document = strings.take(library, out)
    check(hr, "HcsWaitForProcessExit", document, id=id, pid=pid)
    return document
