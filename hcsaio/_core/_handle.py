"""What Container and Process share: owning an HCS handle and its callback.

Rules kept here (hcsshim's, reference §4.2):

* the event callback is registered right after the handle exists, with a
  dispatcher token as its context; events reach :meth:`_on_event` on the
  loop's thread;
* a closed handle refuses new calls with ``InvalidHandle`` before reaching
  HCS;
* closing waits, shielded, for this handle's operations in flight, then
  calls ``HcsClose*`` (which drains callbacks; no event follows), then
  drops the token. Nothing is freed while HCS may still use it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

import anyio

from .._native.handles import Handle
from .._native.library import Library
from ..compute._events import Event, EventHub, decode_event
from ..errors import HcsTimeoutError, InvalidHandle
from . import _operation
from ._dispatch import Dispatcher, current_dispatcher

T = TypeVar("T")

HCS_E_OPERATION_TIMEOUT = 0x80370118
ERROR_INVALID_HANDLE = 0x80070006


class hcs_deadline:
    """A deadline for waits that are not HCS operations (exit waits, stdio):
    expiry raises ``HcsTimeoutError`` naming what was awaited.

    A small class rather than a generator-based context manager: one is
    made per ``Process.wait()``, and with 10,000 waits pending its size
    shows in the memory per wait; without a timeout it does nothing at all.
    """

    __slots__ = ("_id", "_operation", "_pid", "_scope", "_started", "_timeout")

    def __init__(
        self, timeout: float | None, operation: str, *, id: str | None, pid: int | None = None
    ) -> None:
        self._timeout = timeout
        self._operation = operation
        self._id = id
        self._pid = pid
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
            ) from None


class Deadline:
    """One timeout shared by the steps of a compound call (e.g. shutdown's
    operation and its exit wait)."""

    def __init__(self, timeout: float | None) -> None:
        _operation._validate_timeout(timeout)
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        return None if self._end is None else max(0.0, self._end - time.monotonic())


class HandleOwner:
    """Base of the objects that own an HCS_SYSTEM or HCS_PROCESS handle."""

    _kind = "handle"
    _library: Library
    _handle: Handle | None
    _closed: bool
    _token: int | None
    _dispatcher: Dispatcher | None
    _inflight: int
    _idle: anyio.Event | None
    _hub: EventHub

    def _init_handle(self, library: Library) -> None:
        self._library = library
        self._handle = None
        self._closed = False
        self._token = None
        self._dispatcher = None
        self._inflight = 0
        self._idle = None
        self._hub = EventHub()

    # ---- identity used in errors -------------------------------------------

    def _target(self) -> dict[str, Any]:
        raise NotImplementedError

    # ---- handle and callback ---------------------------------------------

    def _attach(self, handle: Handle, register: Callable[[int], None]) -> None:
        """Take ownership of a fresh handle and subscribe to its events."""
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
        self._on_event(decode_event(event_type, data))

    def _on_event(self, event: Event) -> None:
        self._hub.publish(event)

    def _require_open(self, operation: str) -> Handle:
        if self._closed or self._handle is None:
            raise InvalidHandle(
                ERROR_INVALID_HANDLE,
                operation,
                message=f"the {self._kind} handle is closed",
                **self._target(),
            )
        return self._handle

    def events(self) -> AsyncIterator[Event]:
        """Events from now on, as typed objects. The iteration ends after the
        terminal event (exit, service disconnect) or when the handle closes;
        subscribing after the end yields the terminal event once."""
        return self._hub.subscribe()

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
        """Run an HCS operation on this handle; close() waits for it."""
        handle = self._require_open(name)
        self._inflight += 1
        try:
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
            self._inflight -= 1
            if self._inflight == 0 and self._idle is not None:
                self._idle.set()

    # ---- closing -----------------------------------------------------------

    async def _close(self, native_close: Callable[[int, Handle], None]) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            while self._inflight:
                self._idle = anyio.Event()
                await self._idle.wait()
            self._release(native_close)

    def _release(self, native_close: Callable[[int, Handle], None]) -> None:
        """Close the handle now (no operation of ours is in flight)."""
        self._closed = True
        handle, self._handle = self._handle, None
        if handle is not None:
            native_close(self._library.index, handle)
        if self._token is not None and self._dispatcher is not None:
            self._dispatcher.unsubscribe(self._token)
            self._token = None
        self._hub.close()

    @property
    def closed(self) -> bool:
        return self._closed
