"""One handle lifecycle: close() wakes every waiter with HandleClosed, is
bounded by its timeout, never leaks the handle (cancelled or not), counts
every operation (kill() included), and creation that fails after HCS
accepted the call undoes what HCS made.

Systems here set ShouldTerminateOnLastHandleClosed: that makes "the handle
was really closed" visible from outside (the emulator then stops the system
and forgets it), and closing them cleans them up.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

import hcsaio
from hcsaio import errors
from hcsaio._core import _dispatch
from hcsaio._core import _hcs_operation as native_operation
from hcsaio._core import _hcs_process as native_process
from hcsaio._core import _hcs_system as native_system
from hcsaio._errors_table import ERROR_TABLE
from hcsaio.compute import _run
from hcsaio.compute._service import modify_service_settings_raw

from .conftest import host_document, unique_id

pytestmark = pytest.mark.anyio

Slow = Callable[..., Awaitable[None]]


@pytest.fixture
async def slow() -> AsyncIterator[Slow]:
    """Make named emulator operations take this many seconds."""

    async def set_delays(**delays: float) -> None:
        await modify_service_settings_raw(
            json.dumps({"PropertyType": "EmulatorFaults", "Settings": {"Delays": delays}})
        )

    yield set_delays
    await modify_service_settings_raw(
        json.dumps({"PropertyType": "EmulatorFaults", "Settings": {}})
    )


def _document() -> dict[str, Any]:
    return {**host_document(), "ShouldTerminateOnLastHandleClosed": True}


@pytest.fixture
async def system() -> AsyncIterator[hcsaio.Container]:
    """A running system that goes away when its (only) handle is closed."""
    container = await hcsaio.create_compute_system(unique_id("life"), _document())
    try:
        await container.start(timeout=60)
        yield container
    finally:
        if not container.closed:
            with anyio.CancelScope(shield=True):
                await container.close(timeout=30)


async def _gone(system_id: str) -> None:
    """Wait (bounded) until the service has forgotten the system, which it
    does once its last handle is closed."""
    with anyio.fail_after(20):
        while await hcsaio.enumerate_compute_systems(ids=[system_id], timeout=10):
            await anyio.sleep(0.05)


def _hresult(name: str) -> int:
    return next(row.hresult for row in ERROR_TABLE if row.name == name)


# ---- 1. close() wakes every waiter ------------------------------------------


async def test_close_wakes_a_task_waiting_for_the_system(system) -> None:
    caught: list[BaseException] = []

    async def waiter() -> None:
        try:
            await system.wait(timeout=15)
        except errors.HcsError as exc:
            caught.append(exc)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await system.close()
    assert len(caught) == 1
    err = caught[0]
    assert isinstance(err, errors.HandleClosed), err
    assert errors.is_already_closed(err)
    assert isinstance(err, errors.InvalidHandle)  # what a closed handle raised before
    assert err.id == system.id
    assert "closed" in str(err)


async def test_close_wakes_process_wait_and_communicate(system) -> None:
    waiting = await system.exec("sleep", "1000")
    talking = await system.exec("sleep", "1000", stdout=hcsaio.PIPE)
    caught: dict[str, BaseException] = {}

    async def wait() -> None:
        try:
            await waiting.wait(timeout=15)
        except errors.HcsError as exc:
            caught["wait"] = exc

    async def communicate() -> None:
        try:
            await talking.communicate(timeout=15)
        except errors.HcsError as exc:
            caught["communicate"] = exc

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            tg.start_soon(communicate)
            await anyio.wait_all_tasks_blocked()
            await waiting.close()
            await talking.close()
    assert set(caught) == {"wait", "communicate"}
    for err in caught.values():
        assert isinstance(err, errors.HandleClosed), err
    assert caught["wait"].pid == waiting.pid


async def test_calls_on_a_closed_handle_raise_handle_closed(system) -> None:
    done = await system.exec("true")
    assert await done.wait(timeout=30) == 0
    running = await system.exec("sleep", "1000")
    await done.close()
    await running.close()
    # The exit known before the close stands (hcsshim's Wait after Close).
    assert await done.wait(timeout=5) == 0
    with pytest.raises(errors.HandleClosed):
        await running.wait(timeout=5)
    with pytest.raises(errors.HandleClosed):
        await running.properties(timeout=5)
    with pytest.raises(errors.HandleClosed):
        running.kill()
    await system.close()
    with pytest.raises(errors.HandleClosed, match="closed"):
        await system.properties(timeout=5)
    with pytest.raises(errors.HandleClosed):
        await system.wait(timeout=5)
    await system.close()  # closing twice is harmless


# ---- 2. close(timeout=), cancellation during close --------------------------


async def test_close_timeout_hands_over_operations_and_still_closes(system, slow) -> None:
    await slow(GetProperties=30)
    caught: list[BaseException] = []

    cancelling: list[int] = []

    async def query() -> None:
        try:
            await system.properties()
        except errors.HcsError as exc:
            caught.append(exc)
        task = asyncio.current_task()
        assert task is not None
        cancelling.append(task.cancelling())

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(query)
            await anyio.wait_all_tasks_blocked()
            await system.close(timeout=0.2)
            assert system.closed
    assert len(caught) == 1 and isinstance(caught[0], errors.HandleClosed), caught
    assert cancelling == [0]  # the hand-over's cancellation was fully taken back
    assert caught[0].operation == "HcsGetComputeSystemProperties"
    assert hcsaio.pending_operations() == []
    await _gone(system.id)


async def test_close_waits_for_operations_in_flight(system, slow) -> None:
    await slow(GetProperties=0.5)
    results: list[object] = []

    async def query() -> None:
        results.append(await system.properties())

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(query)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(system.close)
            await anyio.wait_all_tasks_blocked()
            # close() is waiting for the query: not closed yet, and new
            # calls are refused meanwhile.
            assert not system.closed and results == []
            with pytest.raises(errors.HandleClosed, match="being closed"):
                await system.properties()
    assert system.closed
    assert len(results) == 1 and results[0].id == system.id  # type: ignore[attr-defined]


async def test_cancelled_close_does_not_leak_the_handle(system, slow) -> None:
    await slow(GetProperties=30)
    caught: list[BaseException] = []

    async def query() -> None:
        try:
            await system.properties()
        except errors.HcsError as exc:
            caught.append(exc)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(query)
            await anyio.wait_all_tasks_blocked()
            closer = asyncio.get_running_loop().create_task(system.close())
            await anyio.wait_all_tasks_blocked()
            closer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await closer
    # The cancelled close released the handle all the same; a later close
    # has nothing left to do, and the service saw the last handle go.
    assert system.closed
    await system.close(timeout=5)
    assert len(caught) == 1 and isinstance(caught[0], errors.HandleClosed), caught
    await _gone(system.id)


async def test_close_timeout_is_validated(system) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await system.close(timeout=-1)
    assert not system.closed


# ---- 3. kill()/terminate()/send_signal() are counted ---------------------------


@pytest.mark.parametrize(
    ("step", "fire"),
    [
        ("TerminateProcess", lambda p: p.kill()),
        ("SignalProcess", lambda p: p.terminate()),
        ("SignalProcess", lambda p: p.send_signal(9)),
    ],
    ids=["kill", "terminate", "send_signal"],
)
async def test_close_waits_for_a_fired_signal(system, slow, step, fire) -> None:
    proc = await system.exec("sleep", "1000")
    await slow(**{step: 0.5})
    fire(proc)
    pending = hcsaio.pending_operations()
    assert [(p.operation, p.pid, p.state) for p in pending] == [
        (
            "HcsSignalProcess" if step == "SignalProcess" else "HcsTerminateProcess",
            proc.pid,
            "running",
        )
    ]
    with anyio.fail_after(20):
        await proc.close(timeout=15)
    # close() returned only after the operation's completion closed it: the
    # emulator held it for 0.5 s, so nothing is pending or orphaned.
    assert hcsaio.pending_operations() == []
    assert _dispatch.current_dispatcher().stats()["orphans"] == 0


async def test_close_timeout_abandons_a_fired_signal(system, slow) -> None:
    proc = await system.exec("sleep", "1000")
    await slow(TerminateProcess=1)
    proc.kill()
    with anyio.fail_after(20):
        await proc.close(timeout=0.1)
    assert proc.closed
    [entry] = hcsaio.pending_operations()
    assert (entry.operation, entry.state) == ("HcsTerminateProcess", "abandoned")
    # The dispatcher closes it when it completes.
    with anyio.fail_after(20):
        while hcsaio.pending_operations():
            await anyio.sleep(0.05)
    assert _dispatch.current_dispatcher().stats()["orphans"] == 0


async def test_run_timeout_closes_only_after_the_kill_completed(system, slow, monkeypatch) -> None:
    # run() kills on timeout and waits KILL_WAIT for the exit; when the exit
    # is late (here: the kill itself is), its close must still wait for the
    # HcsTerminateProcess in flight instead of closing the process under it.
    monkeypatch.setattr(_run, "KILL_WAIT", 0.1)
    await slow(TerminateProcess=1)
    with anyio.fail_after(30), pytest.raises(hcsaio.HcsTimeoutError) as info:
        await system.run("sleep", "1000", timeout=0.3)
    assert hcsaio.pending_operations() == []
    assert _dispatch.current_dispatcher().stats()["orphans"] == 0
    assert "had not exited" in str(info.value)


# ---- 4. failures after HCS accepted a call ---------------------------------------


def _refuse_callback(name: str) -> Callable[..., None]:
    def refuse(*args: object, **kwargs: Any) -> None:
        raise errors.error_from_hresult(
            _hresult("HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET"), name, id=kwargs.get("id")
        )

    return refuse


async def test_system_callback_failure_undoes_the_created_system(monkeypatch) -> None:
    system_id = unique_id("cb")
    monkeypatch.setattr(
        native_system, "set_callback", _refuse_callback("HcsSetComputeSystemCallback")
    )
    with anyio.fail_after(60), pytest.raises(errors.CallbackAlreadySet):
        await hcsaio.create_compute_system(system_id, host_document())
    monkeypatch.undo()
    assert hcsaio.pending_operations() == []
    assert _dispatch.current_dispatcher().stats()["orphans"] == 0
    # Terminated and its handle closed: the service forgot it, the id is free.
    await _gone(system_id)
    again = await hcsaio.create_compute_system(system_id, _document())
    await again.close(timeout=10)


async def test_process_callback_failure_terminates_the_new_process(system, monkeypatch) -> None:
    monkeypatch.setattr(native_process, "set_callback", _refuse_callback("HcsSetProcessCallback"))
    with anyio.fail_after(60), pytest.raises(errors.CallbackAlreadySet):
        await system.exec("sleep", "1000", stdout=hcsaio.PIPE)
    monkeypatch.undo()
    assert hcsaio.pending_operations() == []
    with anyio.fail_after(20):
        while any(p.image_name.endswith("sleep") for p in await system.process_list(timeout=10)):
            await anyio.sleep(0.05)


async def _maybe_await(value: object) -> None:
    if inspect.isawaitable(value):
        await value


@pytest.mark.parametrize("call", ["properties", "kill"])
async def test_a_failed_operation_create_leaves_no_waiter(system, monkeypatch, call) -> None:
    proc = await system.exec("sleep", "1000")
    waiters = _dispatch.current_dispatcher().stats()["waiters"]

    def no_memory(library: int, token: int) -> object:
        raise errors.error_from_hresult(_hresult("E_OUTOFMEMORY"), "HcsCreateOperation")

    monkeypatch.setattr(native_operation, "create_operation", no_memory)
    calls = {"kill": proc.kill, "properties": lambda: system.properties(timeout=5)}
    with pytest.raises(errors.HcsError, match="HcsCreateOperation"):
        await _maybe_await(calls[call]())
    monkeypatch.undo()
    assert _dispatch.current_dispatcher().stats()["waiters"] == waiters
    proc.kill()
    assert await proc.wait(timeout=30) != 0
    await proc.close(timeout=10)


# ---- 5. close_stdin(timeout=) ------------------------------------------------------


async def test_close_stdin_honours_its_timeout(system) -> None:
    proc = await system.exec("sleep", "1000", stdin=hcsaio.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"x" * (8 << 20))  # far more than the pipe holds; nobody reads
    with anyio.fail_after(20), pytest.raises(hcsaio.HcsTimeoutError) as info:
        await proc.close_stdin(timeout=0.2)
    assert "stdin" in str(info.value) and "background" in str(info.value)
    proc.kill()
    assert await proc.wait(timeout=30) != 0
    await proc.close(timeout=10)


async def test_close_hands_over_and_wakes_waiters_under_trio(slow) -> None:
    import trio
    import trio.testing

    await slow(GetProperties=30)

    async def main() -> list[str]:
        system = await hcsaio.create_compute_system(unique_id("trio"), _document())
        names: list[str] = []

        async def record(call: Callable[[], Awaitable[object]]) -> None:
            try:
                await call()
            except errors.HcsError as exc:
                names.append(type(exc).__name__)

        try:
            await system.start(timeout=30)
            proc = await system.exec("sleep", "1000")
            with trio.fail_after(20):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(record, system.properties)
                    nursery.start_soon(record, lambda: proc.wait(timeout=15))
                    await trio.testing.wait_all_tasks_blocked()
                    await proc.close()
                    await system.close(timeout=0.2)
        finally:
            await system.close(timeout=10)
        return sorted(names)

    assert await anyio.to_thread.run_sync(trio.run, main) == ["HandleClosed", "HandleClosed"]
