"""Process calls, checked: ``_native.process`` returns raw results, this
module raises the matching ``HcsError``. Same names as the bindings."""

from __future__ import annotations

from .._native import process as _native
from .._native.handles import Handle
from .._native.process import close
from ._result import check, raise_for

__all__ = ["call", "close", "create", "get_info", "set_callback", "wait_for_exit"]


def create(library: int, system: Handle, parameters: str, op: Handle, *, id: str) -> Handle:
    """HcsCreateProcess; the pid and std handles come with the completion."""
    started, handle = _native.create(library, system, parameters, op)
    if started.hresult < 0:
        raise_for(started.hresult, "HcsCreateProcess", started.document, id=id)
    return handle


def call(
    name: str, library: int, process: Handle, op: Handle, argument: str | None, *, id: str, pid: int
) -> None:
    """Start one of the (process, operation, options) calls by export name."""
    started = _native.call(name, library, process, op, argument)
    if started.hresult < 0:
        raise_for(started.hresult, name, started.document, id=id, pid=pid)


def get_info(library: int, process: Handle, op: Handle, *, id: str, pid: int) -> None:
    started = _native.get_info(library, process, op)
    if started.hresult < 0:
        raise_for(started.hresult, "HcsGetProcessInfo", started.document, id=id, pid=pid)


def set_callback(
    library: int, process: Handle, token: int, options: int, *, id: str, pid: int
) -> None:
    check(
        _native.set_callback(library, process, token, options),
        "HcsSetProcessCallback",
        id=id,
        pid=pid,
    )


def wait_for_exit(
    library: int, process: Handle, timeout_ms: int, *, id: str, pid: int
) -> str | None:
    """HcsWaitForProcessExit (blocking: the benchmarks' thread-pool baseline
    only): the ProcessStatus document."""
    hresult, document = _native.wait_for_exit(library, process, timeout_ms)
    check(hresult, "HcsWaitForProcessExit", document, id=id, pid=pid)
    return document
