"""Service-level calls: ``service_properties`` and ``modify_service_settings``.

These are synchronous in HCS (no operation): they run on the bridge's
native workers (``hcsaio._core._sync``), so a slow or hung service never
stalls the event loop, and ``timeout=`` bounds them like every other call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core import _sync
from .._core._backend import library
from .._core._documents import compact, json_object, parse, to_json
from .._core._operation import _validate_timeout
from ..schema import v2


def _service_query(query: Sequence[str] | Mapping[str, Any] | str | None) -> str | None:
    """A Service_PropertyQuery: ``["Basic"]`` or the full JSON object."""
    if query is None:
        return None
    what = "service property query"
    if isinstance(query, Sequence) and not isinstance(query, str):
        if not all(isinstance(t, str) and t for t in query):
            raise TypeError("service property types must be non-empty strings")
        value = {"PropertyTypes": list(query)}
    else:
        value = json_object(query, what)
    if not isinstance(value.get("PropertyTypes", []), list):
        raise ValueError(f'{what} must be an object like {{"PropertyTypes": ["Basic"]}}')
    return compact(value)


async def service_properties(
    query: Sequence[str] | Mapping[str, Any] | str | None = ("Basic",),
    *,
    timeout: float | None = None,
) -> v2.ServiceProperties:
    """HcsGetServiceProperties: by default the ``Basic`` properties (the
    supported schema versions). ``properties`` has one element per type.
    Expiry of ``timeout`` raises ``HcsTimeoutError``."""
    _validate_timeout(timeout)
    argument = _service_query(query)
    lib = await library()
    name = "HcsGetServiceProperties"
    outcome = await _sync.call(lib, name, (argument,), timeout=timeout)
    (document,) = outcome.values
    _sync.check(outcome, name, document=document)
    return parse(document, v2.ServiceProperties, "service properties")


async def modify_service_settings(
    request: v2.ModificationRequest | Mapping[str, Any] | str,
    *,
    timeout: float | None = None,
) -> None:
    """HcsModifyServiceSettings with a ModificationRequest
    (``{"PropertyType": "CpuGroup", "Settings": {...}}``). Expiry of
    ``timeout`` raises ``HcsTimeoutError`` (the change may still happen:
    HCS cannot cancel it)."""
    _validate_timeout(timeout)
    settings = to_json(request, v2.ModificationRequest, "modification request")
    await modify_service_settings_raw(settings, timeout=timeout)


async def modify_service_settings_raw(settings: str, *, timeout: float | None = None) -> None:
    """The unchecked form, for documents outside the schema (the emulator's
    fault injection uses a PropertyType of its own)."""
    _validate_timeout(timeout)
    lib = await library()
    name = "HcsModifyServiceSettings"
    outcome = await _sync.call(lib, name, (settings,), timeout=timeout)
    (result,) = outcome.values
    _sync.check(outcome, name, document=result)
