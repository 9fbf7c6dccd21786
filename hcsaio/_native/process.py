"""Process calls (computecore §3.3)."""

from __future__ import annotations

from typing import Final

from . import strings
from ._calls import Started, started
from ._ffi import ffi, lib
from .handles import Handle
from .operation import context, event_callback

_OPTION_CALLS: Final = {
    "HcsTerminateProcess": lib.hb_call_HcsTerminateProcess,
    "HcsSignalProcess": lib.hb_call_HcsSignalProcess,
    "HcsGetProcessProperties": lib.hb_call_HcsGetProcessProperties,
    "HcsModifyProcess": lib.hb_call_HcsModifyProcess,
}


def create(library: int, system: Handle, parameters: str, op: Handle) -> tuple[Started, Handle]:
    """HcsCreateProcess; the pid and std handles come with the completion."""
    out = ffi.new("HCS_PROCESS *")
    hr = lib.hb_call_HcsCreateProcess(
        library, system, strings.wide(parameters, "process parameters"), op, ffi.NULL, out
    )
    return started(hr, library, op), Handle(out[0])


def close(library: int, process: Handle) -> None:
    lib.hb_call_HcsCloseProcess(library, process)


def call(name: str, library: int, process: Handle, op: Handle, argument: str | None) -> Started:
    """Start one of the (process, operation, options) calls by export name."""
    hr = _OPTION_CALLS[name](library, process, op, strings.wide(argument, "options"))
    return started(hr, library, op)


def get_info(library: int, process: Handle, op: Handle) -> Started:
    hr = lib.hb_call_HcsGetProcessInfo(library, process, op)
    return started(hr, library, op)


def set_callback(library: int, process: Handle, token: int, options: int) -> int:
    """HcsSetProcessCallback: the HRESULT."""
    return int(
        lib.hb_call_HcsSetProcessCallback(
            library, process, options, context(token), event_callback()
        )
    )


def wait_for_exit(library: int, process: Handle, timeout_ms: int) -> tuple[int, str | None]:
    """HcsWaitForProcessExit (blocking; the thread-pool baseline of the
    benchmarks): the HRESULT and the ProcessStatus document."""
    out = strings.out_string()
    hr = lib.hb_call_HcsWaitForProcessExit(library, process, timeout_ms, out)
    return int(hr), strings.take(library, out)
