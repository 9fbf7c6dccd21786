"""Compute system calls, checked: ``_native.system`` returns raw results,
this module raises the matching ``HcsError`` (with the ResultError document
HCS attached to a synchronous failure). Same names as the bindings."""

from __future__ import annotations

from .._native import system as _native
from .._native.handles import Handle
from .._native.system import GENERIC_ALL, close
from ._result import check, raise_for

__all__ = ["GENERIC_ALL", "call", "close", "create", "enumerate", "modify", "set_callback"]


def create(library: int, id: str, configuration: str, op: Handle) -> Handle:
    """HcsCreateComputeSystem. The system handle is valid as soon as the
    call returns S_OK; the operation reports whether creation succeeded."""
    started, handle = _native.create(library, id, configuration, op)
    if started.hresult < 0:
        raise_for(started.hresult, "HcsCreateComputeSystem", started.document, id=id)
    return handle


def call(
    name: str, library: int, system: Handle, op: Handle, argument: str | None, *, id: str
) -> None:
    """Start one of the (system, operation, options) calls by export name."""
    started = _native.call(name, library, system, op, argument)
    if started.hresult < 0:
        raise_for(started.hresult, name, started.document, id=id)


def modify(library: int, system: Handle, op: Handle, configuration: str, *, id: str) -> None:
    started = _native.modify(library, system, op, configuration)
    if started.hresult < 0:
        raise_for(started.hresult, "HcsModifyComputeSystem", started.document, id=id)


def enumerate(library: int, query: str | None, op: Handle) -> None:
    started = _native.enumerate(library, query, op)
    if started.hresult < 0:
        raise_for(started.hresult, "HcsEnumerateComputeSystems", started.document)


def set_callback(library: int, system: Handle, token: int, options: int, *, id: str) -> None:
    check(
        _native.set_callback(library, system, token, options), "HcsSetComputeSystemCallback", id=id
    )
