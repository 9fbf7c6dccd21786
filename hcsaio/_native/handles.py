"""Opaque handle values and the process information HCS hands back."""

from __future__ import annotations

from typing import Any, NamedTuple, NewType

from ._ffi import ffi

#: An HCS_SYSTEM, HCS_PROCESS or HCS_OPERATION. Opaque above _native.
Handle = NewType("Handle", object)

_INVALID_HANDLE_VALUE = (1 << 64) - 1  # (HANDLE)-1 as an unsigned pointer


class ProcessInfo(NamedTuple):
    """HCS_PROCESS_INFORMATION: the pid and the std pipe handles the caller
    now owns (Linux: fds; Windows: HANDLE values), ``None`` when absent."""

    pid: int
    stdin: int | None
    stdout: int | None
    stderr: int | None


def std_handle(value: Any) -> int | None:
    """NULL and INVALID_HANDLE_VALUE both mean "no pipe" (hcsshim treats both so)."""
    raw = int(ffi.cast("uintptr_t", value))
    if raw == 0 or raw == _INVALID_HANDLE_VALUE:
        return None
    return raw


def process_info(info: Any) -> ProcessInfo:
    return ProcessInfo(
        pid=int(info.ProcessId),
        stdin=std_handle(info.StdInput),
        stdout=std_handle(info.StdOutput),
        stderr=std_handle(info.StdError),
    )


def is_null(handle: Handle) -> bool:
    return bool(handle == ffi.NULL)
