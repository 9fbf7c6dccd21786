"""One client request in flight, and how HcsCancelOperation reaches it.

Cancellation is explicit rather than ``Task.cancel()``: only the places
that wait (a fault delay, a shutdown grace period, a wait for exit, waiting
for another transition to finish) are wrapped in ``cancellable``; work that
changes state (spawning, signalling) is never interrupted halfway, so "effects
already applied stay" holds by construction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from ._hresults import Cancelled

T = TypeVar("T")


class RequestContext:
    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self._cancelled = asyncio.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    async def cancellable(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless the request is cancelled first, in
        which case the awaitable is cancelled and ``Cancelled`` raised."""
        if self.cancelled:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise Cancelled()
        work = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._cancelled.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
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
