"""Stopping a runtime: one ``Runtime.stop`` at a time, and Terminate wins.

A Shutdown's stop waits out a grace period; a Terminate arriving meanwhile
cancels that wait (the SIGTERM already sent stays sent) and runs a forced
stop once the graceful one has unwound. A Shutdown arriving while any stop
runs just waits for it. Waiters watch the tasks with ``asyncio.wait``, so a
cancelled stop is a state to look at, never an exception thrown into them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..compute._hresults import E_FAIL, Cancelled, HcsFailure
from ..wire._requests import RequestContext

StopFunction = Callable[[float | None], Awaitable[None]]


class Stopper:
    def __init__(self, stop: StopFunction) -> None:
        self._stop = stop
        self._task: asyncio.Task[None] | None = None
        self._forced = False

    def launch(self, *, forced: bool, grace: float | None) -> None:
        current = self._task
        if current is not None and not current.done():
            if self._forced or not forced:
                return  # already stopping at least this hard
            current.cancel()  # overtake the grace period
        self._task = asyncio.create_task(self._run(None if forced else grace, current))
        self._forced = forced

    async def _run(self, grace: float | None, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # let a cancelled graceful stop unwind
        await self._stop(grace)

    async def wait(self, request: RequestContext, *, cancellable: bool) -> None:
        """Wait until the runtime has stopped. ``cancellable``: the request may
        cancel a graceful stop's wait (HcsCancelOperation on a Shutdown)."""
        while True:
            task = self._task
            assert task is not None, "launch() first"
            if cancellable and not self._forced:
                try:
                    await request.cancellable(asyncio.wait({task}))
                except Cancelled:
                    if self._task is task and not self._forced:
                        task.cancel()
                    raise
            else:
                await asyncio.wait({task})
            if self._task is not task:
                continue  # overtaken by a forced stop: wait for that one
            if task.cancelled():
                raise Cancelled()
            error = task.exception()
            if error is not None:
                raise HcsFailure(E_FAIL, f"Stopping the compute system failed: {error}")
            return
