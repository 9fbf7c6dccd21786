"""HCS_OPERATION calls, checked: ``_native.operation`` raises nothing, this
module turns its failures into ``HcsError``. Same names and signatures, so
callers need not know which of the two they hold."""

from __future__ import annotations

from .._native.handles import Handle
from .._native.operation import (
    cancel_operation,
    close_operation,
    context,
    creation_failure,
    event_callback,
    operation_result,
)
from .._native.operation import create_operation as _create_operation
from ..errors import error_from_hresult

__all__ = [
    "cancel_operation",
    "close_operation",
    "context",
    "create_operation",
    "event_callback",
    "operation_result",
]


def create_operation(library: int, token: int) -> Handle:
    """HcsCreateOperation(token, hb_on_completion); ``ExportNotFound`` or
    ``OutOfMemory``-style ``HcsError`` when HCS gives none."""
    op = _create_operation(library, token)
    if not op:
        raise error_from_hresult(creation_failure(library), "HcsCreateOperation")
    return op
