"""Event callbacks, close racing with callbacks, several loops, leak checks."""

from __future__ import annotations

import asyncio
import gc
import threading

import anyio
import pytest

from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _operation
from hcsaio._core._dispatch import current_dispatcher
from hcsaio._native import queue as native_queue

from .conftest import open_fds, settle

pytestmark = pytest.mark.anyio

SYSTEM_EXITED = 0x00000001


async def _subscribe(fake, system):
    dispatcher = current_dispatcher()
    token = dispatcher.new_token(fake.library.index)
    received: list[tuple[int, bytes | None]] = []
    dispatcher.subscribe(token, lambda kind, doc: received.append((kind, doc)))
    native_system.set_callback(fake.library.index, system, token, 0, id="fake")
    return dispatcher, token, received


async def test_events_from_many_threads_all_arrive_with_their_data(fake) -> None:
    system = await fake.create_system()
    dispatcher, token, received = await _subscribe(fake, system)
    fake.control.fake_emit_events(system, 4, 2500, SYSTEM_EXITED, '{"Status":0}', 0)
    with anyio.fail_after(10):
        while len(received) < 10_000:
            await anyio.sleep(0.001)
    assert received == [(SYSTEM_EXITED, b'{"Status":0}')] * 10_000
    native_system.close(fake.library.index, system)
    dispatcher.unsubscribe(token)


async def test_second_callback_on_a_handle_is_refused(fake) -> None:
    from hcsaio.errors import CallbackAlreadySet

    system = await fake.create_system()
    dispatcher, token, _ = await _subscribe(fake, system)
    with pytest.raises(CallbackAlreadySet):
        native_system.set_callback(
            fake.library.index, system, dispatcher.new_token(fake.library.index), 0, id="x"
        )
    native_system.close(fake.library.index, system)
    dispatcher.unsubscribe(token)


async def test_no_event_after_close_returns_while_threads_keep_firing(fake) -> None:
    system = await fake.create_system()
    dispatcher, token, received = await _subscribe(fake, system)
    fake.control.fake_emit_events(system, 4, 50_000, SYSTEM_EXITED, fake.ffi.NULL, 1)
    await anyio.sleep(0.01)
    native_system.close(fake.library.index, system)  # races with 4 firing threads
    pushed_at_close = dispatcher.stats()["pushed"]
    await anyio.sleep(0.1)
    assert dispatcher.stats()["pushed"] == pushed_at_close
    dispatcher.drain()
    dispatcher.unsubscribe(token)
    assert all(kind == SYSTEM_EXITED for kind, _ in received)


def test_three_loops_in_three_threads(fake) -> None:
    results: dict[str, object] = {}
    open_before = native_queue.global_stats().dispatchers_open

    def worker(name: str, runner) -> None:
        async def main() -> tuple[int, int]:
            system = await fake.create_system()
            for i in range(2000):
                done = await _operation.run(fake.library, "X", fake.start(system, f"doc={i}"))
                assert done.document == str(i).encode()
            native_system.close(fake.library.index, system)
            return current_dispatcher().token_base

        try:
            results[name] = runner(main)
        except BaseException as exc:  # reported below
            results[name] = exc

    import trio
    import uvloop

    threads = [
        threading.Thread(target=worker, args=("asyncio", lambda fn: asyncio.run(fn()))),
        threading.Thread(target=worker, args=("uvloop", lambda fn: uvloop.run(fn()))),
        threading.Thread(target=worker, args=("trio", trio.run)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    errors = {k: v for k, v in results.items() if isinstance(v, BaseException)}
    assert not errors, errors
    assert len(set(results.values())) == 3  # three dispatchers, three token bases
    # Each loop's dispatcher released its bridge slot when its loop ended.
    assert native_queue.global_stats().dispatchers_open == open_before


async def test_objects_tokens_and_fds_stay_flat_over_10k_operations(fake) -> None:
    system = await fake.create_system()
    dispatcher = current_dispatcher()

    async def batch(n: int) -> None:
        for i in range(n):
            await _operation.run(fake.library, "X", fake.start(system, f"doc={i}"))

    await batch(500)  # warm caches
    gc.collect()
    objects, fds, live = len(gc.get_objects()), open_fds(), fake.live()
    await batch(10_000)
    gc.collect()
    grown = len(gc.get_objects()) - objects
    assert grown < 300, f"{grown} Python objects more after 10,000 operations"
    assert open_fds() == fds
    await settle(fake, live)
    stats = dispatcher.stats()
    assert stats["waiters"] == 0 and stats["orphans"] == 0 and dispatcher.pending == {}
    assert native_queue.global_stats().docs_outstanding == 0
    native_system.close(fake.library.index, system)


async def test_process_pipes_are_handed_over(fake) -> None:
    import os

    from hcsaio._core import _hcs_process as native_process

    system = await fake.create_system()
    done = await _operation.run(
        fake.library, "HcsCreateProcess", fake.create_process(system, "delay_us=10")
    )
    info = done.process_info
    assert (
        info is not None
        and info.stdin is not None
        and info.stdout is not None
        and info.stderr is None
    )
    os.write(info.stdin, b"ping")  # the fake wires stdin to stdout
    assert os.read(info.stdout, 4) == b"ping"
    os.close(info.stdin)
    os.close(info.stdout)
    native_process.close(fake.library.index, done.started)
    native_system.close(fake.library.index, system)
