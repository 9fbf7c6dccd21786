"""One-shot waiters for operation completions, per async flavour.

The dispatcher resolves a waiter from the event loop's own thread with the
completion record. Waiting has two modes:

* ``wait(timeout)``: the normal wait. Raises the builtin ``TimeoutError``
  when *its own* timeout expires; enclosing cancellation (``task.cancel()``,
  ``asyncio.timeout``, anyio/trio cancel scopes) propagates unchanged.
* ``wait_shielded(limit)``: after a timeout or cancellation, wait for the
  operation to finish anyway, up to ``limit`` seconds, immune to further
  cancellation. Returns whether the record arrived. This is the heart of the
  cancellation contract: nothing an HCS call uses is freed while it runs.
  A cancellation that arrives meanwhile is deferred, never lost: trio and
  anyio scopes deliver theirs at the next checkpoint once the shield is
  gone; an asyncio ``task.cancel()`` is caught here (asyncio has no shield
  for the running task) and kept in ``absorbed`` for the caller to re-raise,
  so ``task.cancelling()`` stays balanced.

Why not plain futures and ``asyncio.shield``: cancelling a task that awaits
a future cancels the future, and the late completion would have nowhere to
go. Here the record is stored on the waiter whatever happened to the
future, so a resolution is never lost.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import anyio


class Waiter(Protocol):
    record: Any
    #: the asyncio cancellation caught by wait_shielded, to re-raise
    absorbed: BaseException | None

    def resolve(self, record: Any) -> None: ...

    async def wait(self, timeout: float | None) -> None: ...

    async def wait_shielded(self, limit: float) -> bool: ...


class AsyncioWaiter:
    # No reference to the loop: a waiter left in a dispatcher's table when
    # its loop is closed by hand must not keep that loop alive.
    __slots__ = ("_future", "absorbed", "record")

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self.record: Any = None
        self.absorbed: BaseException | None = None

    def resolve(self, record: Any) -> None:
        self.record = record
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        if self.record is not None:
            return
        self._future = future = asyncio.get_running_loop().create_future()
        if timeout is None:
            await future
        else:
            async with asyncio.timeout(timeout):
                await future

    async def wait_shielded(self, limit: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        # The anyio shield stops anyio from re-delivering cancellation every
        # loop iteration; native asyncio cancellations (task.cancel(),
        # asyncio.timeout) still arrive once each and are kept below.
        with anyio.CancelScope(shield=True):
            while self.record is None and loop.time() < deadline:
                self._future = future = loop.create_future()
                timer = loop.call_at(deadline, _set_if_pending, future)
                try:
                    await future
                except asyncio.CancelledError as exc:
                    # task.cancelling() has counted it: whoever asked must
                    # see it once the operation is settled.
                    self.absorbed = exc
                finally:
                    timer.cancel()
        return self.record is not None


def _set_if_pending(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class TrioWaiter:
    __slots__ = ("_event", "record")

    #: trio's shield defers cancellation instead: nothing is ever absorbed
    absorbed: BaseException | None = None

    def __init__(self) -> None:
        import trio

        self._event = trio.Event()
        self.record: Any = None

    def resolve(self, record: Any) -> None:
        self.record = record
        self._event.set()

    async def wait(self, timeout: float | None) -> None:
        import trio

        if timeout is None:
            await self._event.wait()
            return
        with trio.move_on_after(timeout) as scope:
            await self._event.wait()
        if scope.cancelled_caught and self.record is None:
            raise TimeoutError

    async def wait_shielded(self, limit: float) -> bool:
        import trio

        with trio.CancelScope(shield=True), trio.move_on_after(limit):
            await self._event.wait()
        return self.record is not None
