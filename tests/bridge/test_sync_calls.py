"""Synchronous exports on the bridge's native workers (docs/bridge.md,
"Synchronous calls"), against the fake computecore: its HcsOpenComputeSystem and
HcsGetServiceProperties block at a gate the test opens and closes, so the
workers can be held busy on purpose.

What must hold: the event loop keeps running while a call blocks; the
pool never grows past its size however many calls wait; a caller that
stops waiting (timeout, cancellation, its loop gone) leaves the call to
its worker, and whatever the call returns is disposed of (handles closed,
strings freed), while a call still queued is never made at all."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import cffi
import pytest

from hcsaio import errors
from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _sync
from hcsaio._native import sync as native_sync

from .conftest import Fake, settle

pytestmark = pytest.mark.anyio

GENERIC_ALL = 0x10000000
HCS_E_SYSTEM_NOT_FOUND = 0x8037010E

_GATE_CDEF = """
void fake_gate(int32_t open);
long fake_sync_inside(void);
long fake_sync_made(void);
long fake_sync_high_water(void);
long fake_sync_threads(void);
"""


@pytest.fixture(scope="module")
def gate_library(fakecore_path: Path) -> Any:
    ffi = cffi.FFI()
    ffi.cdef(_GATE_CDEF)
    return ffi.dlopen(str(fakecore_path))


@pytest.fixture
def gate(gate_library: Any) -> Iterator[Any]:
    """The fake's gate, closed for the test and always reopened after it (so a
    failing test cannot leave the bridge's workers stuck). Calls of an
    earlier test still on their way out would be caught by the closed gate:
    wait (bounded) until none is inside."""
    deadline = time.monotonic() + 10
    while (gate_library.fake_sync_inside() or native_sync.stats().busy) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.002)
    gate_library.fake_gate(0)
    try:
        yield gate_library
    finally:
        gate_library.fake_gate(1)


async def wait_until(predicate: Any, what: str, timeout: float = 10.0) -> None:
    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)
    assert predicate(), f"timed out waiting for {what}"


async def open_system(fake: Fake, id: str, timeout: float | None) -> _sync.Outcome:
    return await _sync.call(
        fake.library, "HcsOpenComputeSystem", (id, GENERIC_ALL), timeout=timeout
    )


async def test_open_returns_the_handle_raw(fake: Fake) -> None:
    before = fake.live()
    outcome = await open_system(fake, "system", 10)
    assert outcome.hresult == 0
    (handle,) = outcome.values
    assert handle is not None
    assert fake.live() == (before[0], before[1] + 1, before[2])
    native_system.close(fake.library.index, handle)
    await settle(fake, before)


async def test_failure_is_returned_raw_and_checked_above(fake: Fake) -> None:
    outcome = await open_system(fake, "missing", 10)
    assert outcome.hresult & 0xFFFFFFFF == HCS_E_SYSTEM_NOT_FOUND
    assert outcome.values == (None,)
    with pytest.raises(errors.SystemNotFound):
        _sync.check(outcome, "HcsOpenComputeSystem", id="missing")


async def test_returned_text_is_decoded_and_freed(fake: Fake) -> None:
    before = fake.live()
    outcome = await _sync.call(fake.library, "HcsGetServiceProperties", (None,), timeout=10)
    assert outcome.hresult == 0
    assert "SupportedSchemaVersions" in outcome.values[0]
    await settle(fake, before)


def test_a_library_without_a_service_connection_says_so(fake: Fake) -> None:
    """computecore.dll (here the fake) has no HcsEmuConnected: -1, nothing to
    connect before an asynchronous call."""
    from hcsaio._native import library as native_library

    assert native_library.connected(fake.library.index) == -1


async def test_bad_arguments_fail_before_anything_is_queued(fake: Fake) -> None:
    submitted = native_sync.stats().submitted
    with pytest.raises(TypeError, match="argument 0 of HcsOpenComputeSystem must be a str"):
        await open_system(fake, 42, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NUL"):
        await open_system(fake, "a\x00b", 1)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        await _sync.call(fake.library, "HcsOpenComputeSystem", ("x",), timeout=1)
    with pytest.raises(ValueError, match="cannot run there"):
        await _sync.call(fake.library, "HcsCreateComputeSystem", (), timeout=1)
    with pytest.raises(ValueError, match="timeout"):
        await open_system(fake, "x", -1)
    assert native_sync.stats().submitted == submitted


async def test_loop_keeps_running_while_a_call_blocks(fake: Fake, gate: Any) -> None:
    """A call held in the library for its whole timeout: the loop runs a
    heartbeat meanwhile, and the timeout is the caller's, to the call."""
    before = fake.live()
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await anyio.sleep(0.01)
            beats += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        with pytest.raises(errors.HcsTimeoutError) as info:
            await open_system(fake, "gate", 0.5)
        tg.cancel_scope.cancel()
    assert info.value.operation == "HcsOpenComputeSystem"
    assert info.value.waited is not None
    assert not info.value.cancel_requested
    assert "cannot be cancelled" in str(info.value)
    # A loop blocked by the call would not have beaten at all.
    assert beats >= 10
    # The call is still inside the library; once it returns, its handle is
    # closed by the bridge, nobody having taken it.
    assert gate.fake_sync_inside() == 1
    closed = native_sync.stats().handles_closed
    gate.fake_gate(1)
    await wait_until(lambda: native_sync.stats().handles_closed == closed + 1, "the disposal")
    await settle(fake, before)


async def test_pool_is_bounded(fake: Fake, gate: Any) -> None:
    """32 calls at once run on the pool's few threads, the rest queue; no
    thread is started per call."""
    native_sync.start_workers()
    workers = native_sync.stats().workers
    assert 1 <= workers < 32
    threads_before = len(os.listdir("/proc/self/task"))
    before = fake.live()
    handles: list[Any] = []

    async def one() -> None:
        outcome = await open_system(fake, "gate", 30)
        assert outcome.hresult == 0
        handles.append(outcome.values[0])

    async with anyio.create_task_group() as tg:
        for _ in range(32):
            tg.start_soon(one)
        await wait_until(lambda: gate.fake_sync_inside() == workers, "the pool to fill")
        await anyio.sleep(0.05)  # give a per-call thread, if any, time to appear
        stats = native_sync.stats()
        assert stats.busy == workers
        assert stats.queued == 32 - workers
        assert gate.fake_sync_inside() == workers
        assert len(os.listdir("/proc/self/task")) - threads_before <= 0
        gate.fake_gate(1)
    assert len(handles) == 32
    assert gate.fake_sync_high_water() <= workers
    assert gate.fake_sync_threads() <= workers
    for handle in handles:
        native_system.close(fake.library.index, handle)
    await settle(fake, before)


async def test_late_text_result_is_freed(fake: Fake, gate: Any) -> None:
    before = fake.live()
    freed = native_sync.stats().texts_freed
    with pytest.raises(errors.HcsTimeoutError):
        await _sync.call(fake.library, "HcsGetServiceProperties", ("gate",), timeout=0.1)
    gate.fake_gate(1)
    await wait_until(lambda: native_sync.stats().texts_freed == freed + 1, "the string freed")
    await settle(fake, before)


async def test_queued_call_given_up_is_never_made(fake: Fake, gate: Any) -> None:
    native_sync.start_workers()
    workers = native_sync.stats().workers
    before = fake.live()
    made = gate.fake_sync_made()
    skipped = native_sync.stats().skipped
    handles: list[Any] = []

    async def blocker() -> None:
        outcome = await open_system(fake, "gate", 30)
        handles.append(outcome.values[0])

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(blocker)
        await wait_until(lambda: gate.fake_sync_inside() == workers, "the pool to fill")
        with pytest.raises(errors.HcsTimeoutError):
            await open_system(fake, "gate", 0.1)  # queued behind the blockers
        gate.fake_gate(1)
    await wait_until(lambda: native_sync.stats().skipped == skipped + 1, "the skip")
    assert gate.fake_sync_made() == made + workers
    for handle in handles:
        native_system.close(fake.library.index, handle)
    await settle(fake, before)


async def test_enclosing_cancellation_propagates_unchanged(
    fake: Fake, gate: Any, anyio_backend: tuple[str, dict[str, Any]]
) -> None:
    """A cancel scope (or asyncio.timeout) around the call cancels the wait:
    no HcsTimeoutError replaces it, nothing is absorbed, and the call's
    handle is still disposed of when it returns."""
    before = fake.live()
    closed = native_sync.stats().handles_closed
    with anyio.move_on_after(0.1) as scope:
        await open_system(fake, "gate", None)
    assert scope.cancelled_caught
    if anyio_backend[0] == "asyncio":
        task = asyncio.current_task()
        assert task is not None
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.1):
                await open_system(fake, "gate", None)
        assert not isinstance(info.value, errors.HcsTimeoutError)
        assert task.cancelling() == 0
    gate.fake_gate(1)
    expected = closed + (2 if anyio_backend[0] == "asyncio" else 1)
    await wait_until(lambda: native_sync.stats().handles_closed == expected, "the disposals")
    await settle(fake, before)


def test_results_are_disposed_of_when_the_loop_is_gone(fake: Fake, gate: Any) -> None:
    """asyncio.run() ends with a call in flight (its task is cancelled at
    shutdown, its dispatcher closed), and a call whose owner simply drops it
    (a coroutine never finalised) is released by the garbage collector:
    either way the handle the call returns is closed by the bridge."""
    before = fake.live()
    closed = native_sync.stats().handles_closed

    def inside(count: int) -> None:
        deadline = time.monotonic() + 10
        while gate.fake_sync_inside() != count and time.monotonic() < deadline:
            time.sleep(0.002)
        assert gate.fake_sync_inside() == count, "the call never reached the library"

    async def leave_one_behind() -> None:
        asyncio.get_running_loop().create_task(open_system(fake, "gate", None))
        while gate.fake_sync_inside() != 1:
            await asyncio.sleep(0.002)

    asyncio.run(asyncio.wait_for(leave_one_behind(), 10))

    token = fake.library.index << 56  # slot 0: no dispatcher will take it
    hresult, dropped = native_sync.submit(
        fake.library.index, "HcsOpenComputeSystem", ("gate", GENERIC_ALL), token, 10000
    )
    assert hresult == 0 and dropped is not None
    inside(2)  # running: a call dropped while still queued would never be made
    del dropped
    gc.collect()

    gate.fake_gate(1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if native_sync.stats().handles_closed == closed + 2 and fake.live() == before:
            break
        time.sleep(0.005)
    assert native_sync.stats().handles_closed == closed + 2
    assert native_sync.stats().outstanding == 0
    assert fake.live() == before
