"""HRESULT to exception: the one place a raw result from ``_native`` becomes
the matching ``HcsError``, with HCS's ``ResultError`` document decoded."""

from __future__ import annotations

from typing import NoReturn

import msgspec

from .._native.result import S_OK, failed
from ..errors import HcsError, error_from_hresult

__all__ = ["S_OK", "check", "error_for", "failed", "raise_for"]


def error_for(
    hresult: int,
    operation: str,
    document: str | bytes | None = None,
    *,
    id: str | None = None,
    pid: int | None = None,
) -> HcsError:
    """Build the error for a failed call, decoding HCS's ``ResultError``
    document (if any) into the message and error events. A document that
    is not a ResultError is kept as the message rather than lost."""
    message: str | None = None
    events: tuple[object, ...] = ()
    if document:
        from ..schema.v2 import ResultError

        try:
            decoded = msgspec.json.decode(document, type=ResultError)
        except (msgspec.DecodeError, msgspec.ValidationError):
            message = document if isinstance(document, str) else document.decode("utf-8", "replace")
        else:
            message = decoded.error_message or None
            events = tuple(decoded.error_events or ())
    return error_from_hresult(
        hresult,
        operation,
        id=id,
        pid=pid,
        message=message,
        error_events=events,  # type: ignore[arg-type]
    )


def check(
    hresult: int,
    operation: str,
    document: str | bytes | None = None,
    *,
    id: str | None = None,
    pid: int | None = None,
) -> None:
    """Raise the matching HcsError if ``hresult`` is a failure."""
    if failed(hresult):
        raise error_for(hresult, operation, document, id=id, pid=pid)


def raise_for(
    hresult: int,
    operation: str,
    document: str | bytes | None = None,
    *,
    id: str | None = None,
    pid: int | None = None,
) -> NoReturn:
    raise error_for(hresult, operation, document, id=id, pid=pid)
