"""A failing record handler never loses the other records of its batch nor
the dispatcher (issue 12, item 9), on every loop flavour and wake-up."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
import sniffio

from hcsaio._core import _hcs_operation as native_operation
from hcsaio._core import _hcs_system as native_system
from hcsaio._core import _operation
from hcsaio._core._dispatch import current_dispatcher

pytestmark = pytest.mark.anyio

SYSTEM_EXITED = 0x00000001
EVENTS = 5
COMPLETIONS = 5


async def test_a_failing_handler_loses_no_other_record(fake, caplog) -> None:
    system = await fake.create_system()
    dispatcher = current_dispatcher()
    index = fake.library.index
    events: list[int] = []

    def sink(kind: int, data: bytes | None) -> None:
        events.append(kind)
        if len(events) == 1:
            raise RuntimeError("this sink fails once")

    sink_token = dispatcher.new_token(index)
    dispatcher.subscribe(sink_token, sink)
    native_system.set_callback(index, system, sink_token, 0, id="fake")

    reported: list[dict[str, Any]] = []
    if sniffio.current_async_library() == "asyncio":
        import asyncio

        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(lambda _, context: reported.append(context))
    caplog.set_level(logging.ERROR, logger="hcsaio")

    # One batch: nothing below awaits, so the loop drains only afterwards,
    # with the failing event first and every other record behind it.
    drains = dispatcher.stats()["drains"]
    assert fake.control.fake_emit_events(system, 1, EVENTS, SYSTEM_EXITED, fake.ffi.NULL, 0) == 0
    waiters, ops, tokens = [], [], []
    for i in range(COMPLETIONS):
        token = dispatcher.new_token(index)
        waiters.append(dispatcher.expect(token))
        op = native_operation.create_operation(index, token)
        fake.start(system, f"sync;doc={i}")(op)  # completed before it returns
        ops.append(op)
        tokens.append(token)
    try:
        for waiter in waiters:
            await waiter.wait(5)
    finally:
        for token, op in zip(tokens, ops, strict=True):
            dispatcher.done(token)
            native_operation.close_operation(index, op)
        if sniffio.current_async_library() == "asyncio":
            loop.set_exception_handler(previous)
    assert dispatcher.stats()["drains"] == drains + 1  # it was one batch
    assert [native_queue_document(w.record) for w in waiters] == [
        str(i).encode() for i in range(COMPLETIONS)
    ]
    with anyio.fail_after(5):
        while len(events) < EVENTS:
            await anyio.sleep(0.001)
    assert events == [SYSTEM_EXITED] * EVENTS

    # The failure was reported, once, with the exception.
    if sniffio.current_async_library() == "asyncio":
        assert len(reported) == 1
        assert isinstance(reported[0]["exception"], RuntimeError)
        assert "event" in reported[0]["message"]
    else:
        failures = [r for r in caplog.records if r.name == "hcsaio"]
        assert len(failures) == 1 and failures[0].exc_info is not None
    assert dispatcher.handler_errors == 1

    # And the dispatcher goes on serving operations.
    done = await _operation.run(fake.library, "X", fake.start(system, "doc=after"))
    assert done.document == b"after"
    assert current_dispatcher() is dispatcher
    dispatcher.unsubscribe(sink_token)
    native_system.close(index, system)


def native_queue_document(record: Any) -> bytes | None:
    from hcsaio._native import queue as native_queue

    return native_queue.document(record)
