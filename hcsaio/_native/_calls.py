"""Shared shape of the asynchronous calls: start, and on a synchronous
failure fetch the operation's result document for the error (HCS may
attach a ResultError even then, and hcsshim reads it the same way)."""

from __future__ import annotations

from .handles import Handle
from .operation import operation_result
from .result import failed, raise_for


def started(
    hresult: int,
    operation: str,
    library: int,
    op: Handle,
    *,
    id: str | None = None,
    pid: int | None = None,
) -> None:
    """Check the HRESULT an asynchronous HCS call returned when starting."""
    if failed(hresult):
        _, document = operation_result(library, op)
        raise_for(hresult, operation, document, id=id, pid=pid)
