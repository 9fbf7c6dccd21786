"""Running one HCS operation under the cancellation contract.

An HCS asynchronous call goes: create an ``HCS_OPERATION`` whose context
is a dispatcher token and whose completion callback is the bridge's C
trampoline; start the call; await the completion record; close the
operation. On timeout or cancellation:

1. ``HcsCancelOperation`` (documented as E_NOTIMPL on Windows; the
   emulator implements it; hcsshim ignores the result and so do we);
2. wait, shielded from further cancellation, for the completion, so nothing
   the call uses is freed under HCS's feet; only then close the operation;
3. if the completion does not arrive within the cancel grace (``_grace``:
   per call, per block, per process; 10 s by default), the operation is
   *abandoned*, not freed: the dispatcher closes it when its completion
   finally arrives (or the bridge does, if the loop is gone);
4. raise ``HcsTimeoutError`` for our own timeout (its message names the
   operation, the target and the time waited, which hcsshim's "timeout
   waiting for notification" never did), or re-raise the cancellation.
   A cancellation that arrived during the shielded wait wins over our own
   timeout: it is re-raised, never swallowed (asyncio: the CancelledError
   the waiter caught; trio and anyio scopes: at the checkpoint below).

Resources a completed-but-unwanted operation produced (process pipes) are
closed, so a timed-out ``create_process`` leaks no fd.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from .._native import queue as native_queue
from .._native.handles import Handle, ProcessInfo
from .._native.library import Library
from ..errors import HcsTimeoutError
from . import _hcs_operation as native_operation
from ._dispatch import current_dispatcher
from ._grace import check_grace, effective_grace
from ._result import failed, raise_for

T = TypeVar("T")

HCS_E_OPERATION_TIMEOUT = 0x80370118


class Completed(NamedTuple, Generic[T]):
    """A finished operation: what the start call returned (e.g. the new
    process handle), the operation's HRESULT, its result document and, for
    process creation, the process information. (A NamedTuple: one is made
    per operation, and a frozen dataclass costs several times more.)"""

    started: T
    hresult: int
    document: bytes | None
    process_info: ProcessInfo | None


def _validate_timeout(timeout: float | None) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
    if not timeout >= 0:  # also rejects NaN
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")


async def run(
    library: Library,
    name: str,
    start: Callable[[Handle], T],
    *,
    timeout: float | None = None,
    id: str | None = None,
    pid: int | None = None,
    on_error: Callable[[T], None] | None = None,
    check: bool = False,
    cancel_grace: float | None = None,
) -> Completed[T]:
    """Run one asynchronous HCS call to completion.

    With ``check``, a failed HRESULT raises the matching ``HcsError``;
    without, it is returned for the caller to judge (shutdown tolerates
    "already stopped"). If this raises after ``start`` returned,
    ``on_error`` receives what ``start`` returned (so a handle created by
    the call, such as a new process, is closed). ``cancel_grace`` overrides
    the grace of ``hcsaio.cancel_grace()`` and the process default."""
    if timeout is not None:
        _validate_timeout(timeout)
    if cancel_grace is not None:
        check_grace(cancel_grace)
    dispatcher = current_dispatcher()
    # An operation requested from an already-cancelled scope must not start
    # an HCS call at all (it might be destructive and cannot be recalled).
    await dispatcher.checkpoint_if_cancelled()
    token = dispatcher.new_token(library.index)
    waiter = dispatcher.expect(token)
    try:
        op = native_operation.create_operation(library.index, token)
    except BaseException:
        dispatcher.forget(token)  # else the waiter stays registered forever
        raise
    try:
        started = start(op)
    except BaseException:
        # A synchronous failure: HCS does not call back, nothing is pending.
        dispatcher.forget(token)
        native_operation.close_operation(library.index, op)
        raise
    started_at = time.monotonic()
    dispatcher.pending[token] = (name, id, pid, started_at)
    try:
        await waiter.wait(timeout)
    except BaseException as exc:
        dispatcher.pending_state[token] = "cancelling"
        if isinstance(exc, GeneratorExit):
            # The coroutine is being closed (its task was destroyed with a
            # loop closed by hand): it cannot await, so it lets go at once.
            # Once the loop's finalizer released the bridge slot, the bridge
            # owns the operation (it closes it with the completion, maybe
            # already has): not a call on it any more.
            if not dispatcher.released:
                native_operation.cancel_operation(library.index, op)
            dispatcher.abandon(token, library.index)
            raise
        native_operation.cancel_operation(library.index, op)
        if await waiter.wait_shielded(effective_grace(cancel_grace)):
            record = waiter.record
            native_operation.close_operation(library.index, op)
            dispatcher.done(token)
            _close_pipes(native_queue.process_info(record))
            outcome: int | None = record[native_queue.STATUS]
        else:
            dispatcher.abandon(token, library.index)
            outcome = None
        if on_error is not None:
            on_error(started)
        if not isinstance(exc, Exception):
            raise  # a cancellation (or KeyboardInterrupt): it stays what it was
        if waiter.absorbed is not None:
            raise waiter.absorbed from exc  # asyncio: a task.cancel() during the grace
        # trio and anyio scopes cancelled during the grace deliver here.
        await dispatcher.checkpoint_if_cancelled()
        if isinstance(exc, TimeoutError) and not isinstance(exc, HcsTimeoutError):
            raise HcsTimeoutError(
                HCS_E_OPERATION_TIMEOUT,
                name,
                id=id,
                pid=pid,
                waited=time.monotonic() - started_at,
                outcome=outcome,
            ) from None
        raise
    dispatcher.done(token)
    native_operation.close_operation(library.index, op)
    record = waiter.record
    status = record[native_queue.STATUS]
    document = native_queue.document(record)
    info = native_queue.process_info(record)
    if check and failed(status):
        _close_pipes(info)
        if on_error is not None:
            on_error(started)
        raise_for(status, name, document, id=id, pid=pid)
    return Completed(started, status, document, info)


def _close_pipes(info: ProcessInfo | None) -> None:
    if info is None:
        return
    for handle in (info.stdin, info.stdout, info.stderr):
        if handle is not None:
            native_queue.close_std_handle(handle)
