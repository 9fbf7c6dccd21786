"""What Container and Process share: owning an HCS handle and its callback.

Rules kept here (hcsshim's, reference §4.2):

* the event callback is registered right after the handle exists, with a
  dispatcher token as its context; raw events reach :meth:`_deliver` on the
  loop's thread (``compute._owner`` turns them into typed events: this tier
  knows nothing of the compute API);
* every operation started on the handle is counted, awaited ones
  (:meth:`HandleOwner._run`) and ones nobody awaits
  (:meth:`HandleOwner._fire`: ``kill()``, ``terminate()``, ``send_signal()``),
  so ``HcsClose*`` never runs while one of them is in flight;
* one state machine: open -> closing (new calls refused) -> closed. Closing
  waits for the operations in flight, bounded by ``close(timeout=)``; then
  calls ``HcsClose*`` (which drains callbacks; no event follows), drops the
  token and only then counts as closed. If the wait expires or is cancelled,
  the operations still running are handed over (awaited ones are cancelled
  under the cancellation contract, unawaited ones go to the dispatcher's
  abandon path, which closes them when they complete) and the handle is
  released anyway: a close never leaks the handle;
* the release wakes every waiter (``wait()``, ``communicate()``, the
  operations handed over) with ``HandleClosed``, as hcsshim unblocks
  ``Wait`` with ``ErrAlreadyClosed``; any later call raises it too.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

import anyio

from .._native.handles import Handle
from .._native.library import Library
from .._native.queue import Record
from ..errors import HandleClosed, HcsTimeoutError
from . import _hcs_operation as native_operation
from . import _operation
from ._dispatch import Dispatcher, current_dispatcher

T = TypeVar("T")

HCS_E_OPERATION_TIMEOUT = 0x80370118


class hcs_deadline:
    """A deadline for waits that are not HCS operations (exit waits, stdio):
    expiry raises ``HcsTimeoutError`` naming what was awaited.

    A small class rather than a generator-based context manager: one is
    made per ``Process.wait()``, and with 10,000 waits pending its size
    shows in the memory per wait; without a timeout it does nothing at all.
    """

    __slots__ = ("_id", "_note", "_operation", "_pid", "_scope", "_started", "_timeout")

    def __init__(
        self,
        timeout: float | None,
        operation: str,
        *,
        id: str | None,
        pid: int | None = None,
        note: str,
    ) -> None:
        self._timeout = timeout
        self._operation = operation
        self._id = id
        self._pid = pid
        #: What the caller is left with on expiry (nothing was cancelled:
        #: "the process keeps running"); goes into the error's message.
        self._note = note
        self._scope: AbstractContextManager[anyio.CancelScope] | None = None
        self._started = 0.0

    def __enter__(self) -> None:
        if self._timeout is not None:
            self._started = time.monotonic()
            self._scope = anyio.fail_after(self._timeout)
            self._scope.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._scope is None:
            return
        try:
            self._scope.__exit__(kind, value, tb)
        except TimeoutError as exc:
            if isinstance(exc, HcsTimeoutError):
                raise
            raise HcsTimeoutError(
                HCS_E_OPERATION_TIMEOUT,
                self._operation,
                id=self._id,
                pid=self._pid,
                waited=time.monotonic() - self._started,
                note=self._note,
            ) from None


class Deadline:
    """One timeout shared by the steps of a compound call (e.g. shutdown's
    operation and its exit wait)."""

    def __init__(self, timeout: float | None) -> None:
        _operation._validate_timeout(timeout)
        self._start = time.monotonic()
        self._end = None if timeout is None else self._start + timeout

    def remaining(self) -> float | None:
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self._start


class HandleOwner:
    """Base of the objects that own an HCS_SYSTEM or HCS_PROCESS handle."""

    _kind = "handle"
    _library: Library
    _handle: Handle | None
    _closed: bool
    _closing: int
    _token: int | None
    _dispatcher: Dispatcher | None
    _inflight: int
    _scopes: set[anyio.CancelScope]
    _fired: dict[int, Handle]
    _idle: anyio.Event | None
    _ended: anyio.Event

    def _init_handle(self, library: Library) -> None:
        self._library = library
        self._handle = None
        #: True once HcsClose* ran: set last, by _release().
        self._closed = False
        #: close() calls waiting for operations in flight (calls are refused).
        self._closing = 0
        self._token = None
        self._dispatcher = None
        #: Operations in flight: awaited ones (each with the cancel scope close()
        #: cancels if it stops waiting) and fired ones (token -> operation).
        self._inflight = 0
        self._scopes = set()
        self._fired = {}
        self._idle = None
        #: Set on exit, service disconnect or close: what wait() waits for.
        self._ended = anyio.Event()

    # ---- identity used in errors -------------------------------------------

    def _target(self) -> dict[str, Any]:
        raise NotImplementedError

    # ---- handle and callback ---------------------------------------------

    def _attach(self, handle: Handle, register: Callable[[int], None]) -> None:
        """Take ownership of a fresh handle and subscribe to its events. If
        the registration fails the handle stays owned (``_release`` closes it)."""
        self._handle = handle
        dispatcher = self._dispatcher = current_dispatcher()
        token = self._token = dispatcher.new_token(self._library.index)
        dispatcher.subscribe(token, self._deliver)
        try:
            register(token)
        except BaseException:
            dispatcher.unsubscribe(token)
            self._token = None
            raise

    def _deliver(self, event_type: int, data: bytes | None) -> None:
        """An event of the handle's callback, on the loop's thread."""
        raise NotImplementedError

    def _released(self) -> None:
        """Hook: the handle was just closed (no event follows)."""

    def _closed_error(self, operation: str) -> HandleClosed:
        state = "is being closed" if self._closing and not self._closed else "is closed"
        return HandleClosed.raised_by(
            operation, f"the {self._kind} handle {state} (close() was called)", **self._target()
        )

    def _require_open(self, operation: str) -> Handle:
        if self._closed or self._closing or self._handle is None:
            raise self._closed_error(operation)
        return self._handle

    async def _wait_ended(self, timeout: float | None, what: str, note: str) -> None:
        """Wait until the exit, a disconnect or close() ends the handle."""
        if not self._ended.is_set():
            with hcs_deadline(timeout, what, note=note, **self._target()):
                await self._ended.wait()

    # ---- operations --------------------------------------------------------

    async def _run(
        self,
        name: str,
        start: Callable[[Handle, Handle], T],
        *,
        timeout: float | None,
        checked: bool = True,
        on_error: Callable[[T], None] | None = None,
    ) -> _operation.Completed[T]:
        """Run an HCS operation on this handle; close() waits for it (or, when
        it stops waiting, cancels it: the caller then gets HandleClosed)."""
        handle = self._require_open(name)
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        self._inflight += 1
        try:
            with scope:
                return await _operation.run(
                    self._library,
                    name,
                    lambda op: start(handle, op),
                    timeout=timeout,
                    on_error=on_error,
                    check=checked,
                    **self._target(),
                )
        finally:
            self._scopes.discard(scope)
            self._operation_done()
        # Only close() cancels this scope: the operation was handed over.
        raise self._closed_error(name)

    def _fire(
        self,
        name: str,
        start: Callable[[Handle, Handle], None],
        *,
        tolerate: type[BaseException] | tuple[type[BaseException], ...] = (),
    ) -> None:
        """Start an operation nobody awaits (asyncio's synchronous ``kill()``
        and friends). It is counted like any other: close() waits for its
        completion, which closes it; a synchronous failure of a ``tolerate``
        class is ignored."""
        handle = self._require_open(name)
        library = self._library.index
        dispatcher = current_dispatcher()
        token = dispatcher.new_token(library)
        op: Handle | None = None
        try:
            op = native_operation.create_operation(library, token)
            dispatcher.on_completion(
                token, functools.partial(self._fired_done, dispatcher, token, op)
            )
            start(handle, op)
        except BaseException as exc:
            # HCS did not accept the call: no completion will come.
            dispatcher.forget(token)
            if op is not None:
                native_operation.close_operation(library, op)
            if isinstance(exc, tolerate):
                return
            raise
        target = self._target()
        dispatcher.pending[token] = (name, target.get("id"), target.get("pid"), time.monotonic())
        self._fired[token] = op
        self._inflight += 1

    def _fired_done(self, dispatcher: Dispatcher, token: int, op: Handle, record: Record) -> None:
        # Runs inside the dispatcher's drain: nothing here may raise.
        if self._fired.pop(token, None) is None:
            return
        dispatcher.done(token)
        native_operation.close_operation(self._library.index, op)
        self._operation_done()

    def _operation_done(self) -> None:
        self._inflight -= 1
        if self._inflight == 0 and self._idle is not None:
            self._idle.set()

    def _hand_over(self) -> None:
        """close() stops waiting: cancel the awaited operations (their callers
        get HandleClosed once HCS confirms, under the cancellation contract)
        and leave the fired ones to the dispatcher, which closes them when
        they complete."""
        for scope in list(self._scopes):
            scope.cancel()
        if self._fired:
            dispatcher = current_dispatcher()
            for token in self._fired:
                dispatcher.abandon(token, self._library.index)
            self._inflight -= len(self._fired)
            self._fired.clear()

    # ---- closing -----------------------------------------------------------

    async def _close(
        self, native_close: Callable[[int, Handle], None], timeout: float | None
    ) -> None:
        """Wait up to ``timeout`` for the operations in flight, then release.
        Expiry or cancellation hands the rest over and releases all the same
        (then re-raises the cancellation): the handle never leaks."""
        _operation._validate_timeout(timeout)
        if self._closed:
            return
        self._closing += 1
        try:
            if self._inflight:
                with anyio.move_on_after(timeout):
                    while self._inflight and not self._closed:
                        if self._idle is None or self._idle.is_set():
                            self._idle = anyio.Event()
                        await self._idle.wait()
        finally:
            self._closing -= 1
            if not self._closed:
                if self._inflight:
                    self._hand_over()
                self._release(native_close)

    def _release(self, native_close: Callable[[int, Handle], None]) -> None:
        """Close the handle now and wake every waiter."""
        handle, self._handle = self._handle, None
        if handle is not None:
            native_close(self._library.index, handle)
        if self._token is not None and self._dispatcher is not None:
            self._dispatcher.unsubscribe(self._token)
            self._token = None
        self._closed = True
        self._released()
        self._ended.set()
        if self._idle is not None:
            self._idle.set()

    @property
    def closed(self) -> bool:
        """True once the handle is released (not while close() still waits)."""
        return self._closed
