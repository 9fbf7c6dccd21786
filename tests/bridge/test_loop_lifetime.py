"""A dispatcher lives as long as its loop, and its tokens stay its own
(issue 12, items 8 and 10)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import uvloop

from hcsaio._core import _hcs_operation as native_operation
from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _operation
from hcsaio._core._dispatch import current_dispatcher
from hcsaio._native import queue as native_queue

from .conftest import open_fds

LOOPS = 50

NEW_LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def _live_slots() -> int:
    return native_queue.global_stats().dispatchers_open


@pytest.mark.parametrize(
    ("loop_kind", "wake"),
    [("asyncio", "eventfd"), ("asyncio", "socket"), ("uvloop", "eventfd")],
)
@pytest.mark.parametrize("in_flight", [False, True], ids=["idle", "in-flight"])
def test_loops_closed_by_hand_release_their_slot_and_fds(
    fake, monkeypatch, loop_kind: str, wake: str, in_flight: bool
) -> None:
    """No asyncio.run(), so no shutdown_asyncgens: only the loop's finalizer
    can release the dispatcher, and it fires only if nothing holds the loop.
    `in_flight`: the loop is closed with an operation still running (its
    late completion is then disposed of by the bridge)."""
    monkeypatch.setenv("HCSAIO_WAKEUP", wake)
    systems = []

    async def use_the_bridge() -> None:
        system = await fake.create_system()
        systems.append(system)
        await _operation.run(fake.library, "X", fake.start(system, "doc=1"))
        if in_flight:
            asyncio.get_running_loop().create_task(
                _operation.run(fake.library, "X", fake.start(system, "delay_us=20000"))
            )
            await asyncio.sleep(0)  # let it start

    NEW_LOOPS[loop_kind]().close()  # uvloop opens two fds of its own once
    gc.collect()
    slots, fds, live = _live_slots(), open_fds(), fake.live()
    for _ in range(LOOPS):
        loop = NEW_LOOPS[loop_kind]()
        loop.run_until_complete(use_the_bridge())
        loop.close()
        del loop
    for system in systems:
        native_system.close(fake.library.index, system)
    # Pending tasks of closed loops complain when collected; that is theirs.
    gc.collect()
    assert _live_slots() == slots, f"{_live_slots() - slots} of {LOOPS} dispatcher slots leaked"
    assert open_fds() == fds
    # The in-flight operations' late completions were closed by the bridge.
    anyio.run(_settle, fake, live)


async def _settle(fake: Any, expected: tuple[int, int, int]) -> None:
    with anyio.move_on_after(5):
        while fake.live() != expected:
            await anyio.sleep(0.005)
    assert fake.live() == expected


def test_stale_token_is_rejected_after_4096_reuses_of_its_slot(fake) -> None:
    """A completion that arrives after its loop ended must not resolve a
    waiter of a later loop that reused the slot. The 12-bit generation,
    advanced at each open and close of a slot, came round every 2,048
    cycles; with the sequence restarting at 1 per dispatcher, the first
    token of the 4,097th dispatcher on a slot was the first one's again."""
    state: dict[str, Any] = {}

    async def first() -> None:
        state["system"] = await fake.create_system()
        dispatcher = current_dispatcher()
        state["slot"] = dispatcher._queue.slot
        state["stale"] = dispatcher.new_token(fake.library.index)

    asyncio.run(first())
    # 4,095 more dispatchers open and close on the same (lowest free) slot.
    for _ in range(4095):
        queue = native_queue.NativeQueue(native_queue.WAKE_NONE, 0)
        assert queue.slot == state["slot"]
        queue.close()

    async def last() -> None:
        dispatcher = current_dispatcher()
        assert dispatcher._queue.slot == state["slot"]
        mine = dispatcher.new_token(fake.library.index)
        waiter = dispatcher.expect(mine)
        orphaned = native_queue.global_stats().orphaned
        # The late completion of the first loop's operation arrives now.
        op = native_operation.create_operation(fake.library.index, state["stale"])
        fake.start(state["system"], "doc=stale")(op)
        with anyio.move_on_after(5):
            while native_queue.global_stats().orphaned == orphaned:
                await anyio.sleep(0.005)
        assert native_queue.global_stats().orphaned == orphaned + 1, "not disposed of as stale"
        assert waiter.record is None, "a stale completion resolved another loop's waiter"
        assert dispatcher.unmatched == 0
        dispatcher.forget(mine)

    asyncio.run(last())
    native_system.close(fake.library.index, state["system"])


def test_tokens_are_unique_across_loops_and_threads(fake) -> None:
    """Sequences come from one process-wide counter: no two dispatchers,
    sequential or concurrent, ever hand out the same sequence."""
    import threading

    seen: list[list[int]] = []

    async def take() -> list[int]:
        dispatcher = current_dispatcher()
        return [
            dispatcher.new_token(0) & ((1 << native_queue.SEQUENCE_BITS) - 1) for _ in range(600)
        ]

    def worker() -> None:
        for _ in range(5):
            seen.append(asyncio.run(take()))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sequences = [s for batch in seen for s in batch]
    assert len(seen) == 15 and len(set(sequences)) == len(sequences) == 15 * 600
