"""Shared shape of the asynchronous calls: the raw result of starting one."""

from __future__ import annotations

from typing import NamedTuple

from .handles import Handle
from .operation import operation_result
from .result import failed


class Started(NamedTuple):
    """What an asynchronous HCS call returned when starting: its HRESULT and,
    on a synchronous failure, the operation's result document (HCS may
    attach a ResultError even then, and hcsshim reads it the same way)."""

    hresult: int
    document: str | None


def started(hresult: int, library: int, op: Handle) -> Started:
    if failed(hresult):
        _, document = operation_result(library, op)
        return Started(int(hresult), document)
    return Started(int(hresult), None)
