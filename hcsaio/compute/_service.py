"""Service-level calls: ``service_properties`` and ``modify_service_settings``.

These are synchronous in HCS (no operation); they run in a worker thread so
a slow service never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread

from .._core._backend import library
from .._core._documents import compact, json_object, parse, to_json
from .._native import service as native_service
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
) -> v2.ServiceProperties:
    """HcsGetServiceProperties: by default the ``Basic`` properties (the
    supported schema versions). ``properties`` has one element per type."""
    argument = _service_query(query)
    lib = await library()
    document = await anyio.to_thread.run_sync(native_service.get_properties, lib.index, argument)
    return parse(document, v2.ServiceProperties, "service properties")


async def modify_service_settings(
    request: v2.ModificationRequest | Mapping[str, Any] | str,
) -> None:
    """HcsModifyServiceSettings with a ModificationRequest
    (``{"PropertyType": "CpuGroup", "Settings": {...}}``)."""
    settings = to_json(request, v2.ModificationRequest, "modification request")
    await modify_service_settings_raw(settings)


async def modify_service_settings_raw(settings: str) -> None:
    """The unchecked form, for documents outside the schema (the emulator's
    fault injection uses a PropertyType of its own)."""
    lib = await library()
    await anyio.to_thread.run_sync(native_service.modify_settings, lib.index, settings)
