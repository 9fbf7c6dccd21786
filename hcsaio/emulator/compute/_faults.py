"""Fault injection for testing clients, set through HcsModifyServiceSettings.

``{"PropertyType": "EmulatorFaults", "Settings": {"Delays": {"Start": 2.5}}}``
makes the service wait 2.5 s before it performs every Start; the wait is
cancellable with HcsCancelOperation. ``"Settings": {}`` clears all faults.
"""

from __future__ import annotations

import asyncio
from typing import cast

from ..wire._requests import RequestContext
from ._jsoncheck import JsonObject, invalid, map_of, number, struct

# Operation names as HCS_OPERATION_TYPE spells them, plus the two process
# calls that have no type of their own.
OPERATIONS = frozenset(
    {
        "Enumerate",
        "Create",
        "Start",
        "Shutdown",
        "Pause",
        "Resume",
        "Save",
        "Terminate",
        "Modify",
        "GetProperties",
        "CreateProcess",
        "SignalProcess",
        "GetProcessInfo",
        "GetProcessProperties",
        "ModifyProcess",
        "Crash",
        "TerminateProcess",
        "LiveMigration",
    }
)
MAX_DELAY = 3600.0

_SETTINGS = struct({"Delays": map_of(number(0, MAX_DELAY))})


class Faults:
    def __init__(self) -> None:
        self._delays: dict[str, float] = {}

    def configure(self, settings: object) -> None:
        """Replace the fault set; raises HcsFailure(INVALID_JSON) naming
        the offending key."""
        checked = cast(JsonObject, _SETTINGS(settings if settings is not None else {}, "Settings"))
        delays = cast("dict[str, float]", checked.get("Delays", {}))
        for name in delays:
            if name not in OPERATIONS:
                raise invalid(
                    f"Settings.Delays.{name}",
                    f"unknown operation (known: {', '.join(sorted(OPERATIONS))})",
                )
        self._delays = dict(delays)

    def describe(self) -> dict[str, float]:
        return dict(self._delays)

    async def before(self, operation: str, request: RequestContext) -> None:
        delay = self._delays.get(operation)
        if delay:
            await request.cancellable(asyncio.sleep(delay))
