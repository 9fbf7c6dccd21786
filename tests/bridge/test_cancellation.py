"""The cancellation contract: cancel, wait shielded, then close; or abandon."""

from __future__ import annotations

import asyncio

import anyio
import pytest
import sniffio

from hcsaio._core import _operation
from hcsaio._core._dispatch import all_pending, current_dispatcher
from hcsaio.errors import HcsTimeoutError

from .conftest import open_fds, settle

pytestmark = pytest.mark.anyio

ERROR_CANCELLED = 0x800704C7


async def test_cancelled_before_start_never_calls_hcs(fake) -> None:
    await fake.create_system()
    before = fake.live()
    calls = []

    def start(op):
        calls.append(op)

    with anyio.CancelScope() as scope:
        scope.cancel()
        await _operation.run(fake.library, "HcsStartComputeSystem", start)
    assert calls == []
    await settle(fake, before)


async def test_cancelled_in_flight_cancels_waits_and_closes(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with anyio.move_on_after(0.05) as scope:
        await _operation.run(fake.library, "HcsStartComputeSystem", fake.start(system, "never"))
    assert scope.cancelled_caught
    # The fake completes a cancelled "never" op with ERROR_CANCELLED; we
    # waited for that completion and closed the operation before returning.
    await settle(fake, before)
    assert current_dispatcher().pending == {}


async def test_cancelled_after_completion_closes_and_releases_pipes(fake) -> None:
    from hcsaio._core import _hcs_process as native_process

    system = await fake.create_system()
    before, fds = fake.live(), open_fds()
    native = sniffio.current_async_library()

    def start(op):
        handle = fake.create_process(system, "sync")(op)
        # The completion has already happened; cancel before the first await,
        # natively, so the cancellation (not the record) wins deterministically.
        if native == "asyncio":
            asyncio.current_task().cancel()
        else:
            scope.cancel()
        return handle

    async def run() -> None:
        await _operation.run(
            fake.library,
            "HcsCreateProcess",
            start,
            on_error=lambda h: native_process.close(fake.library.index, h),
        )

    if native == "asyncio":
        with pytest.raises(asyncio.CancelledError):
            await asyncio.ensure_future(run())
    else:
        import trio

        with trio.CancelScope() as scope:
            await run()
        assert scope.cancelled_caught
    await settle(fake, before)
    assert open_fds() == fds  # the process pipes were closed, not leaked


async def test_timeout_raises_hcs_timeout_error_naming_the_operation(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(HcsTimeoutError) as info:
        await _operation.run(
            fake.library,
            "HcsStartComputeSystem",
            fake.start(system, "never"),
            timeout=0.05,
            id="web-1",
        )
    err = info.value
    assert isinstance(err, TimeoutError)
    assert err.hresult == 0x80370118
    assert err.outcome == ERROR_CANCELLED
    assert 0.05 <= err.waited < 5
    text = str(err)
    assert "HcsStartComputeSystem" in text and "'web-1'" in text and "timed out after" in text
    await settle(fake, before)


async def test_timeout_zero_still_follows_the_contract(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(HcsTimeoutError):
        await _operation.run(
            fake.library, "HcsStartComputeSystem", fake.start(system, "never"), timeout=0
        )
    await settle(fake, before)


async def test_operation_outliving_the_grace_is_abandoned_then_closed(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(HcsTimeoutError) as info:
        # The fake honours the cancel only after its 400 ms delay.
        await _operation.run(
            fake.library,
            "HcsStartComputeSystem",
            fake.start(system, "delay_us=400000"),
            timeout=0.02,
            cancel_grace=0.05,
        )
    assert info.value.outcome is None
    assert "abandoned" in str(info.value)
    assert [p.state for p in all_pending() if p.operation == "HcsStartComputeSystem"] == [
        "abandoned"
    ]
    # Nothing was freed in flight; the late completion closes it.
    await settle(fake, before)
    assert current_dispatcher().pending == {}
    assert current_dispatcher().stats()["orphans"] == 0


async def test_enclosing_native_deadline_behaves_the_same(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    if sniffio.current_async_library() == "asyncio":
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await _operation.run(
                    fake.library, "HcsStartComputeSystem", fake.start(system, "never")
                )
    else:
        import trio

        with trio.move_on_after(0.05) as scope:
            await _operation.run(fake.library, "HcsStartComputeSystem", fake.start(system, "never"))
        assert scope.cancelled_caught
    await settle(fake, before)


async def test_task_cancel_behaves_the_same(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            _operation.run, fake.library, "HcsStartComputeSystem", fake.start(system, "never")
        )
        await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
    await settle(fake, before)


async def test_anyio_fail_after_behaves_the_same(fake) -> None:
    system = await fake.create_system()
    before = fake.live()
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.05):
            await _operation.run(fake.library, "HcsStartComputeSystem", fake.start(system, "never"))
    await settle(fake, before)


async def test_bad_timeouts_fail_before_hcs(fake) -> None:
    system = await fake.create_system()
    with pytest.raises(ValueError, match="timeout"):
        await _operation.run(fake.library, "X", fake.start(system, None), timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        await _operation.run(fake.library, "X", fake.start(system, None), timeout=float("nan"))
    with pytest.raises(TypeError, match="timeout"):
        await _operation.run(fake.library, "X", fake.start(system, None), timeout="1")  # type: ignore[arg-type]


async def test_pending_operations_lists_what_is_in_flight(fake) -> None:
    system = await fake.create_system()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: _operation.run(
                fake.library, "HcsStartComputeSystem", fake.start(system, "never"), id="diag-1"
            )
        )
        with anyio.fail_after(5):
            while not any(p.id == "diag-1" for p in all_pending()):
                await anyio.sleep(0.005)
        (entry,) = [p for p in all_pending() if p.id == "diag-1"]
        assert entry.operation == "HcsStartComputeSystem"
        assert entry.state == "running"
        assert entry.elapsed >= 0
        tg.cancel_scope.cancel()
    assert not any(p.id == "diag-1" for p in all_pending())


async def test_closed_dispatcher_disposes_late_completions_in_c(fake) -> None:
    from hcsaio._native import queue as native_queue

    system = await fake.create_system()
    before = fake.live()
    orphaned = native_queue.global_stats().orphaned
    dispatcher = current_dispatcher()
    token = dispatcher.new_token(fake.library.index)
    dispatcher.expect(token)
    from hcsaio._core import _hcs_operation as native_operation

    op = native_operation.create_operation(fake.library.index, token)
    fake.start(system, "delay_us=100000")(op)
    dispatcher.close()  # the loop "ends" with the operation in flight
    with anyio.fail_after(5):
        while fake.live() != before:
            await anyio.sleep(0.01)
    # The bridge closed the operation itself when the completion found the slot gone.
    assert native_queue.global_stats().orphaned == orphaned + 1
