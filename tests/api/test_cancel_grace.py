"""The cancel grace against the emulator (issue 12, item 11): where
HcsCancelOperation does nothing (Windows documents E_NOTIMPL; the emulator's
``IgnoreCancel`` fault), a timed-out call gives up after the grace instead
of waiting for HCS, and its operation is still closed when HCS finishes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

import hcsaio
from hcsaio.compute._service import modify_service_settings_raw

pytestmark = pytest.mark.anyio

ERROR_CANCELLED = 0x800704C7


@pytest.fixture
async def faults() -> AsyncIterator[Callable[..., Awaitable[None]]]:
    async def configure(**settings: Any) -> None:
        await modify_service_settings_raw(
            json.dumps({"PropertyType": "EmulatorFaults", "Settings": settings})
        )

    yield configure
    await configure()


async def test_deaf_cancel_abandons_after_the_grace_then_closes(new_system, faults) -> None:
    system = await new_system(start=False)
    await faults(Delays={"Start": 1.0}, IgnoreCancel=["Start"])
    with hcsaio.cancel_grace(0.1), pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.start(timeout=0.1)
    assert info.value.outcome is None
    assert "abandoned" in str(info.value)
    mine = [p for p in hcsaio.pending_operations() if p.id == system.id]
    assert [(p.operation, p.state) for p in mine] == [("HcsStartComputeSystem", "abandoned")]
    # HCS finishes the start it was never able to recall; its completion
    # closes the abandoned operation.
    with anyio.fail_after(15):
        while any(p.id == system.id for p in hcsaio.pending_operations()):
            await anyio.sleep(0.02)
    assert (await system.properties(timeout=10)).state == "Running"


async def test_a_cancel_that_works_needs_no_grace(new_system, faults) -> None:
    """The same delay without IgnoreCancel: the cancel ends the operation
    within the grace, so it completes (cancelled) instead of being abandoned."""
    system = await new_system(start=False)
    await faults(Delays={"Start": 30})
    with hcsaio.cancel_grace(20), pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.start(timeout=0.1)
    assert info.value.outcome == ERROR_CANCELLED
    assert not [p for p in hcsaio.pending_operations() if p.id == system.id]


async def test_ignore_cancel_names_known_operations(faults) -> None:
    with pytest.raises(hcsaio.HcsError, match=r"IgnoreCancel\[1\]"):
        await faults(IgnoreCancel=["Start", "Nap"])
