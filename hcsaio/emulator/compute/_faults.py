"""Fault injection for testing clients, set through HcsModifyServiceSettings.

``{"PropertyType": "EmulatorFaults", "Settings": {"Delays": {"Start": 2.5}}}``
makes the service wait 2.5 s before it performs every Start; the wait is
cancellable with HcsCancelOperation, unless the operation is named in
``"IgnoreCancel": ["Start"]``: then a cancel request changes nothing for the
whole operation, as on Windows, where HcsCancelOperation is documented as
E_NOTIMPL (clients test their give-up path with it). ``"Settings": {}``
clears all faults.
"""

from __future__ import annotations

import asyncio
from typing import cast

from ..wire._requests import RequestContext
from ._jsoncheck import JsonObject, invalid, list_of, map_of, number, string, struct

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

_SETTINGS = struct({"Delays": map_of(number(0, MAX_DELAY)), "IgnoreCancel": list_of(string)})


def _check_name(name: str, path: str) -> None:
    if name not in OPERATIONS:
        raise invalid(path, f"unknown operation (known: {', '.join(sorted(OPERATIONS))})")


class Faults:
    def __init__(self) -> None:
        self._delays: dict[str, float] = {}
        self._ignore_cancel: frozenset[str] = frozenset()

    def configure(self, settings: object) -> None:
        """Replace the fault set; raises HcsFailure(INVALID_JSON) naming
        the offending key."""
        checked = cast(JsonObject, _SETTINGS(settings if settings is not None else {}, "Settings"))
        delays = cast("dict[str, float]", checked.get("Delays", {}))
        for name in delays:
            _check_name(name, f"Settings.Delays.{name}")
        ignored = cast("list[str]", checked.get("IgnoreCancel", []))
        for i, name in enumerate(ignored):
            _check_name(name, f"Settings.IgnoreCancel[{i}]")
        self._delays = dict(delays)
        self._ignore_cancel = frozenset(ignored)

    def describe(self) -> dict[str, float]:
        return dict(self._delays)

    def status(self) -> dict[str, object]:
        """The fault set as EmulatorStatus shows it."""
        shown: dict[str, object] = {"Delays": self.describe()}
        if self._ignore_cancel:
            shown["IgnoreCancel"] = sorted(self._ignore_cancel)
        return shown

    async def before(self, operation: str, request: RequestContext) -> None:
        if operation in self._ignore_cancel:
            request.ignore_cancel()  # the whole operation, not just the delay
        delay = self._delays.get(operation)
        if delay:
            await request.cancellable(asyncio.sleep(delay))
