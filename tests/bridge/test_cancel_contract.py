"""The cancellation contract: cancelled operations still get their
completions when ``asyncio.run()`` ends (issue 12, item 7).

The fake's ``never`` operations complete when cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest

from hcsaio._core import _dispatch, _operation
from hcsaio._core._dispatch import all_pending, current_dispatcher
from hcsaio._native import queue as native_queue
from hcsaio._native import system as native_system

pytestmark = pytest.mark.anyio

#: Long enough that no test waits it out: each ends the grace by a completion.
LONG_GRACE = 30.0


async def _until_state(state: str, operation: str = "HcsStartComputeSystem") -> None:
    """Wait (bounded) until the operation is in `state` ("cancelling" means:
    in its shielded wait)."""
    with anyio.fail_after(5):
        while not any(p.operation == operation and p.state == state for p in all_pending()):
            await anyio.sleep(0.002)


# ---- asyncio.run() ending with operations in flight (item 7) -----------------


@pytest.mark.parametrize("reader", ["pump", "add_reader"])
def test_asyncio_run_exit_delivers_the_completions_of_cancelled_operations(
    fake, monkeypatch, caplog, reader: str
) -> None:
    """asyncio.run() cancels every task at exit. The socket wake-up's pump
    task (the only reader on a Windows Proactor loop, which has no
    add_reader) used to be cancelled with them and close the dispatcher, so
    the operations it served ran out their grace and were abandoned. Here
    the grace is long: an abandon would show as a leftover orphan."""
    monkeypatch.setenv("HCSAIO_WAKEUP", "socket")
    if reader == "pump":
        monkeypatch.setattr(_dispatch, "_supports_add_reader", lambda loop: False)
    caplog.set_level(logging.ERROR, logger="asyncio")
    seen: dict[str, Any] = {}

    async def in_flight(system: Any) -> None:
        try:
            await _operation.run(
                fake.library,
                "HcsStartComputeSystem",
                fake.start(system, "never"),
                cancel_grace=LONG_GRACE,
            )
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    async def main() -> None:
        system = seen["system"] = await fake.create_system()
        seen["dispatcher"] = current_dispatcher()
        seen["task"] = asyncio.get_running_loop().create_task(in_flight(system))
        await _until_state("running")
        # main returns with the operation in flight

    orphaned = native_queue.global_stats().orphaned
    asyncio.run(main())
    native_system.close(fake.library.index, seen["system"])
    dispatcher = seen["dispatcher"]
    assert seen.get("cancelled") and seen["task"].cancelled()
    # Its completion reached its waiter: nothing abandoned, nothing orphaned.
    assert dispatcher.pending == {} and dispatcher.stats()["orphans"] == 0
    assert native_queue.global_stats().orphaned == orphaned
    assert dispatcher._closed  # and the loop's shutdown closed the dispatcher
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


def test_pump_restarts_after_cancelled_with_nothing_to_deliver(fake, monkeypatch) -> None:
    """A pump cancelled while idle ends; the next operation starts another."""
    monkeypatch.setenv("HCSAIO_WAKEUP", "socket")
    monkeypatch.setattr(_dispatch, "_supports_add_reader", lambda loop: False)

    async def main() -> bytes | None:
        system = await fake.create_system()
        dispatcher = current_dispatcher()
        for task in asyncio.all_tasks():
            if task.get_name() == "hcsaio-dispatcher":
                task.cancel()
        with anyio.fail_after(5):
            while dispatcher._pumping:
                await asyncio.sleep(0.001)
        done = await asyncio.wait_for(
            _operation.run(fake.library, "X", fake.start(system, "doc=again")), 5
        )
        native_system.close(fake.library.index, system)
        return done.document

    assert asyncio.run(main()) == b"again"
