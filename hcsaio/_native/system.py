"""Compute system calls (computecore §3.2)."""

from __future__ import annotations

from typing import Final

from . import strings
from ._calls import Started, started
from ._ffi import ffi, lib
from .handles import Handle
from .operation import context, event_callback

GENERIC_ALL: Final = 0x10000000

#: Asynchronous calls of shape (system, operation, options/query).
_SIMPLE_CALLS: Final = {
    "HcsStartComputeSystem": lib.hb_call_HcsStartComputeSystem,
    "HcsShutDownComputeSystem": lib.hb_call_HcsShutDownComputeSystem,
    "HcsTerminateComputeSystem": lib.hb_call_HcsTerminateComputeSystem,
    "HcsCrashComputeSystem": lib.hb_call_HcsCrashComputeSystem,
    "HcsPauseComputeSystem": lib.hb_call_HcsPauseComputeSystem,
    "HcsResumeComputeSystem": lib.hb_call_HcsResumeComputeSystem,
    "HcsSaveComputeSystem": lib.hb_call_HcsSaveComputeSystem,
    "HcsGetComputeSystemProperties": lib.hb_call_HcsGetComputeSystemProperties,
}


def create(library: int, id: str, configuration: str, op: Handle) -> tuple[Started, Handle]:
    """HcsCreateComputeSystem. The system handle is valid as soon as the
    call returns S_OK; the operation reports whether creation succeeded."""
    out = ffi.new("HCS_SYSTEM *")
    hr = lib.hb_call_HcsCreateComputeSystem(
        library,
        strings.wide(id, "id"),
        strings.wide(configuration, "configuration"),
        op,
        ffi.NULL,
        out,
    )
    return started(hr, library, op), Handle(out[0])


def close(library: int, system: Handle) -> None:
    """HcsCloseComputeSystem: unregisters the callback and waits for running
    callbacks to drain; no event follows. Our callbacks never wait on
    Python, so calling this on the event loop's thread cannot deadlock."""
    lib.hb_call_HcsCloseComputeSystem(library, system)


def call(name: str, library: int, system: Handle, op: Handle, argument: str | None) -> Started:
    """Start one of the (system, operation, options) calls by export name."""
    fn = _SIMPLE_CALLS[name]
    hr = fn(library, system, op, strings.wide(argument, "options"))
    return started(hr, library, op)


def modify(library: int, system: Handle, op: Handle, configuration: str) -> Started:
    hr = lib.hb_call_HcsModifyComputeSystem(
        library, system, op, strings.wide(configuration, "configuration"), ffi.NULL
    )
    return started(hr, library, op)


def enumerate(library: int, query: str | None, op: Handle) -> Started:
    hr = lib.hb_call_HcsEnumerateComputeSystems(library, strings.wide(query, "query"), op)
    return started(hr, library, op)


def set_callback(library: int, system: Handle, token: int, options: int) -> int:
    """HcsSetComputeSystemCallback: the HRESULT."""
    return int(
        lib.hb_call_HcsSetComputeSystemCallback(
            library, system, options, context(token), event_callback()
        )
    )


def wait_for_exit(library: int, system: Handle, timeout_ms: int) -> tuple[int, str | None]:
    """HcsWaitForComputeSystemExit (blocking; the thread-pool baseline of the
    benchmarks): the HRESULT and the SystemExitStatus document."""
    out = strings.out_string()
    hr = lib.hb_call_HcsWaitForComputeSystemExit(library, system, timeout_ms, out)
    return int(hr), strings.take(library, out)
