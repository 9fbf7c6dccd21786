"""One client request in flight, and how HcsCancelOperation reaches it.

Cancellation is explicit rather than ``Task.cancel()``: only the places
that wait (a fault delay, a shutdown grace period, a wait for exit, waiting
for another transition to finish) are wrapped in ``cancellable``; work that
changes state (spawning, signalling) is never interrupted halfway, so "effects
already applied stay" holds by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..compute._hresults import Cancelled

T = TypeVar("T")


class RequestContext:
    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self._cancelled = False
        self._deaf = False
        # wake-ups of the waits in progress (usually none, at most one)
        self._wakers: list[Callable[[], None]] = []

    def ignore_cancel(self) -> None:
        """From now on a cancel request changes nothing (the IgnoreCancel
        fault: Windows documents HcsCancelOperation as E_NOTIMPL)."""
        self._deaf = True

    def cancel(self) -> None:
        if self._deaf:
            return
        self._cancelled = True
        for wake in list(self._wakers):
            wake()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def cancellable(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless the request is cancelled first, in
        which case the awaitable is cancelled and ``Cancelled`` raised."""
        if self._cancelled:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise Cancelled()
        work = asyncio.ensure_future(awaitable)
        if not work.done():
            # One future that either the work or cancel() completes: no
            # watcher task per wait (this is on every request's path).
            woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake(_: object = None) -> None:
                if not woken.done():
                    woken.set_result(None)

            work.add_done_callback(wake)
            self._wakers.append(wake)
            try:
                await woken
            finally:
                self._wakers.remove(wake)
                work.remove_done_callback(wake)
                if not work.done():
                    work.cancel()
                    # Let the work unwind (e.g. a runtime's grace wait) before
                    # the cancellation is reported.
                    await asyncio.gather(work, return_exceptions=True)
        if work.cancelled():
            raise Cancelled()
        return work.result()


def detached() -> RequestContext:
    """A context nobody can cancel, for work the service starts itself
    (ShouldTerminateOnLastHandleClosed, service shutdown)."""
    return RequestContext(0)
