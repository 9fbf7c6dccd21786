"""The cancellation contract at every await point of an operation, on each
loop flavour: a cancellation is never swallowed, ``task.cancelling()`` stays
balanced, and cancelled operations still get their completions when
``asyncio.run()`` ends (issue 12, items 6 and 7).

An operation awaits at three points: the checkpoint before it starts, the
wait for its completion, and the shielded wait after a timeout or
cancellation (the grace). The fake's ``delay_us`` operations complete after
their delay whatever the cancel, so a test can hold an operation in its grace
for as long as it needs; ``never`` operations complete when cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from hcsaio._core import _dispatch, _operation
from hcsaio._core import _hcs_system as native_system
from hcsaio._core._dispatch import all_pending, current_dispatcher
from hcsaio._native import queue as native_queue
from hcsaio.errors import HcsTimeoutError

from .conftest import settle

pytestmark = pytest.mark.anyio

ASYNCIO_FLAVOURS = [
    pytest.param(("asyncio", {}, "eventfd"), id="asyncio-eventfd"),
    pytest.param(("asyncio", {}, "socket"), id="asyncio-socket"),
    pytest.param(("asyncio", {"use_uvloop": True}, "eventfd"), id="uvloop-eventfd"),
]
asyncio_only = pytest.mark.parametrize("anyio_backend", ASYNCIO_FLAVOURS, indirect=True)

#: Long enough that no test waits it out: each ends the grace by a completion.
LONG_GRACE = 30.0
#: The fake completes this long after the start, cancelled or not.
LATE = "delay_us=300000"


async def _until_state(state: str, operation: str = "HcsStartComputeSystem") -> None:
    """Wait (bounded) until the operation is in `state` ("cancelling" means:
    in its shielded wait)."""
    with anyio.fail_after(5):
        while not any(p.operation == operation and p.state == state for p in all_pending()):
            await anyio.sleep(0.002)


def _start_late(fake: Any, system: Any) -> Callable[..., Any]:
    async def start(**options: Any) -> _operation.Completed[None]:
        return await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, LATE), **options
        )

    return start


# ---- before start ------------------------------------------------------------


@asyncio_only
async def test_asyncio_cancel_requested_before_start_never_calls_hcs(fake) -> None:
    system = await fake.create_system()
    calls: list[object] = []

    async def victim() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # requested while running: nothing awaited it yet
        try:
            await _operation.run(fake.library, "HcsStartComputeSystem", calls.append)
        finally:
            assert task.cancelling() == 1

    task = asyncio.ensure_future(victim())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == []
    native_system.close(fake.library.index, system)


# ---- while pending -----------------------------------------------------------


@asyncio_only
async def test_asyncio_cancel_while_pending_is_the_only_exception(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    seen: list[int] = []

    async def victim() -> None:
        try:
            await _operation.run(fake.library, "HcsStartComputeSystem", fake.start(system, "never"))
        except asyncio.CancelledError:
            seen.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]
            raise

    task = asyncio.ensure_future(victim())
    await _until_state("running")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [1]
    await settle(fake, before)
    native_system.close(fake.library.index, system)


# ---- during the shielded wait ------------------------------------------------


@asyncio_only
async def test_asyncio_cancel_during_grace_after_own_timeout_is_redelivered(fake) -> None:
    """The bug: the cancel was swallowed and HcsTimeoutError raised, so a
    caller retrying on timeouts never stopped."""
    system = await fake.create_system()
    before = fake.live()
    start = _start_late(fake, system)
    timeouts: list[int] = []
    seen: list[int] = []

    async def retrying() -> None:
        try:
            for attempt in range(3):
                try:
                    await start(timeout=0.02, cancel_grace=LONG_GRACE)
                except HcsTimeoutError:
                    timeouts.append(attempt)
        except asyncio.CancelledError:
            seen.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]
            raise

    task = asyncio.ensure_future(retrying())
    await _until_state("cancelling")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timeouts == []  # the cancel ended the task in its first attempt
    assert seen == [1]
    # The operation still completed and was closed before the task ended.
    await settle(fake, before)
    assert current_dispatcher().pending == {}
    native_system.close(fake.library.index, system)


@asyncio_only
async def test_asyncio_second_cancel_during_grace_is_counted_not_lost(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    start = _start_late(fake, system)
    seen: list[int] = []

    async def victim() -> None:
        try:
            await start(cancel_grace=LONG_GRACE)
        except asyncio.CancelledError:
            seen.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]
            raise

    task = asyncio.ensure_future(victim())
    await _until_state("running")
    task.cancel()
    await _until_state("cancelling")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [2]  # as asyncio counts two cancel() calls without hcsaio
    await settle(fake, before)
    native_system.close(fake.library.index, system)


@asyncio_only
async def test_asyncio_timeout_expiring_during_grace_is_the_outer_timeout(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    start = _start_late(fake, system)
    task = asyncio.current_task()
    assert task is not None
    with pytest.raises(TimeoutError) as info:
        async with asyncio.timeout(0.1) as outer:
            # Our own timeout fires first; the outer one during the grace.
            await start(timeout=0.02, cancel_grace=LONG_GRACE)
    assert outer.expired()
    assert not isinstance(info.value, HcsTimeoutError)
    assert task.cancelling() == 0
    await settle(fake, before)
    native_system.close(fake.library.index, system)


@asyncio_only
async def test_taskgroup_sibling_failure_during_grace_cancels_cleanly(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    start = _start_late(fake, system)

    async def sibling() -> None:
        await _until_state("cancelling")
        raise ValueError("sibling failed")

    tasks: list[asyncio.Task[Any]] = []

    async def group() -> None:
        async with asyncio.TaskGroup() as tg:
            tasks.append(tg.create_task(start(timeout=0.02, cancel_grace=LONG_GRACE)))
            tg.create_task(sibling())

    with pytest.raises(ExceptionGroup) as info:
        await group()
    (operation,) = tasks
    # The operation's task was cancelled, not failed with HcsTimeoutError.
    # (The parent's own cancelling() is not checked: Python 3.11's TaskGroup
    # leaves it at 1 after a child failure with or without hcsaio.)
    assert [type(e) for e in info.value.exceptions] == [ValueError]
    assert operation.cancelled()
    await settle(fake, before)
    native_system.close(fake.library.index, system)


async def test_scope_cancelled_during_grace_after_own_timeout_wins(fake) -> None:
    """anyio/trio: the enclosing scope's cancellation, deferred by the
    shield, is delivered instead of HcsTimeoutError."""
    system = await fake.create_system()
    before = fake.live()
    start = _start_late(fake, system)
    with anyio.move_on_after(0.1) as scope:
        await start(timeout=0.02, cancel_grace=LONG_GRACE)
    assert scope.cancelled_caught
    await settle(fake, before)
    native_system.close(fake.library.index, system)


async def test_own_timeout_alone_still_raises_hcs_timeout_error(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(HcsTimeoutError) as info:
        await _start_late(fake, system)(timeout=0.02, cancel_grace=LONG_GRACE)
    assert info.value.outcome == 0x800704C7  # completed (cancelled) after its delay
    await settle(fake, before)
    native_system.close(fake.library.index, system)


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
