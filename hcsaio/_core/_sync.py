"""Synchronous HCS exports, awaited without blocking the event loop.

``HcsOpenComputeSystem``, ``HcsOpenProcess``, the service calls and (in
later areas) every HCN, storage and vmcompute call block until done; the
emulator's may wait for a connection to its service. :func:`call` runs
one on the bridge's native workers (``hcsaio._native.sync``) and awaits
its completion record like an operation's, so the loop keeps running.

The contract differs from an operation's in one way: a synchronous call
cannot be cancelled. On timeout or cancellation the waiter simply goes
away; the worker finishes the call and the bridge disposes of what it
returns (strings freed, handles closed), also if the loop is gone by then.
Nothing is shielded, so a cancellation is never absorbed.

The timeout bounds the whole wait (queueing included); the bridge passes
what is left of it to libraries that take a per-thread timeout
(libhcsemu), and does not make a call whose deadline passed while queued.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Final

from .._native import sync as native_sync
from .._native.library import Library
from ..errors import HcsTimeoutError
from ._dispatch import current_dispatcher
from ._operation import _validate_timeout
from ._result import raise_for

HCS_E_OPERATION_TIMEOUT: Final = 0x80370118

Outcome = native_sync.Outcome


def timeout_ms(timeout: float | None) -> int:
    """A timeout in whole milliseconds for the bridge (rounded up, so a call
    is never given less time than its caller waits)."""
    if timeout is None:
        return native_sync.NO_TIMEOUT
    return min(math.ceil(timeout * 1000), native_sync.NO_TIMEOUT - 1)


async def call(
    library: Library,
    name: str,
    arguments: Sequence[Any],
    *,
    timeout: float | None,
    id: str | None = None,
    pid: int | None = None,
) -> Outcome:
    """Run synchronous export ``name`` on the bridge's workers and await it.

    Returns the raw outcome (HRESULT and out-parameters; check it with
    :func:`check`). Raises ``HcsTimeoutError`` when ``timeout`` expires
    first; an enclosing cancellation propagates unchanged. Either way the
    call itself runs to its end on its worker and its results are disposed
    of there."""
    _validate_timeout(timeout)
    dispatcher = current_dispatcher()
    # A call requested from an already-cancelled scope is not made at all.
    await dispatcher.checkpoint_if_cancelled()
    token = dispatcher.new_token(library.index)
    waiter = dispatcher.expect(token)
    try:
        hresult, pending = native_sync.submit(
            library.index, name, arguments, token, timeout_ms(timeout)
        )
    except BaseException:
        dispatcher.forget(token)
        raise
    if pending is None:
        dispatcher.forget(token)
        raise_for(hresult, name, id=id, pid=pid)
    started = time.monotonic()
    dispatcher.pending[token] = (name, id, pid, started)
    try:
        await waiter.wait(timeout)
    except BaseException as exc:
        # Not stoppable: leave the call to its worker, which disposes of
        # the results. A completion already queued finds no waiter.
        dispatcher.forget(token)
        pending.release()
        if isinstance(exc, TimeoutError) and not isinstance(exc, HcsTimeoutError):
            raise HcsTimeoutError(
                HCS_E_OPERATION_TIMEOUT,
                name,
                id=id,
                pid=pid,
                waited=time.monotonic() - started,
                cancel_requested=False,
            ) from None
        raise
    dispatcher.done(token)
    return pending.take()


def check(
    outcome: Outcome,
    name: str,
    *,
    document: str | None = None,
    id: str | None = None,
    pid: int | None = None,
) -> None:
    """Raise the matching ``HcsError`` for a failed outcome; ``document``
    is the ResultError/error record text that came with it, if any. Handles
    a failed call returned anyway are not the caller's to close: HCS
    returns none on failure."""
    if outcome.hresult < 0:
        raise_for(outcome.hresult, name, document, id=id, pid=pid)
