"""Per-event-loop dispatchers: from bridge records to awaiting tasks.

One :class:`Dispatcher` exists per running event loop (kept in an anyio
``RunVar``, so several loops in several threads each get their own and no
module-level per-loop table exists). It owns a bridge slot (the C queue the
trampolines push to) and a wake-up channel, and maps tokens to:

* completion waiters (one-shot, popped when the completion arrives);
* event sinks (long-lived: a compute system's or process's callback);
* orphans: operations abandoned after a cancel grace period; their late
  completion closes the operation here.

Wake-up strategies (``HCSAIO_WAKEUP`` overrides the automatic choice):

* ``eventfd``: Linux selector loops and uvloop. ``loop.add_reader`` on an
  eventfd; the drain runs as a plain loop callback, no task involved.
* ``socket``: a socketpair whose read end a system task awaits with
  ``anyio.wait_readable``. Works wherever anyio does: trio, and asyncio's
  Proactor loop on Windows, which has no ``add_reader``.

Either way, a burst of completions costs one wake-up and one drain call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import anyio
import anyio.lowlevel
import sniffio
from anyio.lowlevel import RunVar

from .._native import queue as native_queue
from .._native.operation import close_operation
from ._grace import default_cancel_grace
from ._waiters import AsyncioWaiter, TrioWaiter, Waiter

WakeStrategy = Literal["eventfd", "socket"]
EventSink = Callable[[int, bytes | None], None]

#: Token sequences a dispatcher reserves at a time: small at first (most
#: loops run few operations and each reservation is spent for good), then
#: larger, so a busy loop asks the bridge rarely.
_FIRST_BLOCK = 256
_MAX_BLOCK = 65536


#: What a dispatcher remembers of an operation in flight: the HCS function,
#: the compute system id, the process id, time.monotonic() at start. A plain
#: tuple, because one is made per operation on the hot path;
#: PendingOperation objects are built only when someone asks.
PendingEntry = tuple[str, str | None, int | None, float]


@dataclass
class PendingOperation:
    """An HCS operation in flight, for :func:`hcsaio.pending_operations`."""

    operation: str
    id: str | None
    pid: int | None
    started: float  # time.monotonic()
    state: Literal["running", "cancelling", "abandoned"] = "running"

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _choose_strategy(flavour: str) -> WakeStrategy:
    forced = os.environ.get("HCSAIO_WAKEUP", "").strip().lower()
    if forced in ("eventfd", "socket"):
        if forced == "eventfd" and (flavour != "asyncio" or not hasattr(os, "eventfd")):
            raise RuntimeError("HCSAIO_WAKEUP=eventfd needs asyncio with a selector loop on Linux")
        return forced  # type: ignore[return-value]
    if forced:
        raise ValueError(f"HCSAIO_WAKEUP must be 'eventfd' or 'socket', not {forced!r}")
    if (
        flavour == "asyncio"
        and hasattr(os, "eventfd")
        and _supports_add_reader(asyncio.get_running_loop())
    ):
        return "eventfd"
    return "socket"


def _supports_add_reader(loop: asyncio.AbstractEventLoop) -> bool:
    # ProactorEventLoop raises NotImplementedError from add_reader.
    return not (
        sys.platform == "win32" and isinstance(loop, getattr(asyncio, "ProactorEventLoop", ()))
    )


class Dispatcher:
    """Routes bridge records to waiters and sinks for one event loop."""

    def __init__(self, flavour: str, strategy: WakeStrategy) -> None:
        self.flavour = flavour
        self.strategy = strategy
        #: token -> the resolve method of the waiter expecting its completion
        #: (the bound method, so the per-record loop does one call, no lookup)
        self._waiters: dict[int, Callable[[native_queue.Record], None]] = {}
        self._sinks: dict[int, EventSink] = {}
        self._orphans: dict[int, int] = {}  # token -> library index
        self.pending: dict[int, PendingEntry] = {}
        #: tokens of pending operations that are no longer simply running
        self.pending_state: dict[int, Literal["cancelling", "abandoned"]] = {}
        self._closed = False
        #: completions that matched no waiter and no abandoned operation
        #: (a doubled completion, or one after a synchronous failure)
        self.unmatched = 0
        self._resources = _Resources(strategy)
        self._queue = self._resources.queue
        self._eventfd = self._resources.eventfd
        self._rsock = self._resources.rsock
        self._token_base = self._queue.token_base
        self._next_seq = 0
        self._seq_end = 0
        self._block = _FIRST_BLOCK
        #: anyio's "checkpoint if the enclosing scope is cancelled", bound
        #: to this loop's backend once (the public function looks the
        #: backend up on every call, which costs as much as an operation's
        #: own bookkeeping).
        self.checkpoint_if_cancelled = _backend_checkpoint()
        self._new_waiter: Callable[[], Waiter]
        if flavour == "asyncio":
            loop = asyncio.get_running_loop()
            self._new_waiter = lambda: AsyncioWaiter(loop)
        else:
            self._new_waiter = TrioWaiter

    # ---- start/stop -------------------------------------------------------

    def _start(self) -> None:
        if self.flavour == "asyncio":
            loop = asyncio.get_running_loop()
            if self.strategy == "eventfd":
                loop.add_reader(self._eventfd, self._on_eventfd)
            else:
                self._pump_task = loop.create_task(self._pump(), name="hcsaio-dispatcher")
            # Close when the loop shuts down: asyncio.run() and friends call
            # aclose() on every live async generator the loop has seen, which
            # runs the lifeline's finally. The finalizer is the fallback for
            # loops closed by hand; it must not reference self, or the loop
            # would keep the dispatcher alive.
            self._lifeline_gen = self._lifeline()
            with contextlib.suppress(StopIteration):
                self._lifeline_gen.asend(None).send(None)
            weakref.finalize(loop, self._resources.release)
        else:
            import trio

            trio.lowlevel.spawn_system_task(self._pump, name="hcsaio-dispatcher")

    def close(self) -> None:
        """Stop dispatching; the bridge disposes of late records itself."""
        if self._closed:
            return
        self._closed = True
        if self.strategy == "eventfd":
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._eventfd)
        elif self._rsock is not None:
            # trio (and anyio) must be told before an awaited fd is closed;
            # this wakes the pump with ClosedResourceError.
            with contextlib.suppress(Exception):
                anyio.notify_closing(self._rsock)
        self._resources.release()

    async def _lifeline(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self.close()

    async def _pump(self) -> None:
        sock = self._rsock
        assert sock is not None
        try:
            while not self._closed:
                try:
                    await anyio.wait_readable(sock)
                except (anyio.ClosedResourceError, OSError):
                    return  # closed by Dispatcher.close()
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    sock.recv(4096)
                self.drain()
        finally:
            self.close()

    def _on_eventfd(self) -> None:
        if sys.platform == "linux":  # the only platform that chooses eventfd
            with contextlib.suppress(BlockingIOError, InterruptedError):
                os.eventfd_read(self._eventfd)
        self.drain()

    # ---- tokens -----------------------------------------------------------

    @property
    def token_base(self) -> int:
        """The slot bits every token of this dispatcher carries."""
        return self._token_base

    def new_token(self, library: int) -> int:
        """A token no other operation of the process ever had: sequences
        come from the bridge's process-wide counter, in blocks."""
        if self._closed:
            raise RuntimeError("hcsaio's dispatcher for this event loop is closed")
        seq = self._next_seq
        if seq >= self._seq_end:
            seq = self._reserve()
        self._next_seq = seq + 1
        return self._token_base | (library << 56) | seq

    def _reserve(self) -> int:
        size = self._block
        self._block = min(size * 4, _MAX_BLOCK)
        first = native_queue.reserve_sequences(size)
        self._seq_end = first + size
        return first

    def expect(self, token: int) -> Waiter:
        waiter = self._new_waiter()
        self._waiters[token] = waiter.resolve
        return waiter

    def forget(self, token: int) -> None:
        """The operation never started: no completion will come (HCS does not
        call back for a synchronous failure)."""
        self._waiters.pop(token, None)
        self.done(token)

    def done(self, token: int) -> None:
        """The operation is over (completed, or never started)."""
        self.pending.pop(token, None)
        self.pending_state.pop(token, None)

    def abandon(self, token: int, library: int) -> None:
        """Stop waiting for an operation; close it when it completes."""
        self._waiters.pop(token, None)
        self._orphans[token] = library
        if token in self.pending:
            self.pending_state[token] = "abandoned"

    def subscribe(self, token: int, sink: EventSink) -> None:
        self._sinks[token] = sink

    def unsubscribe(self, token: int) -> None:
        self._sinks.pop(token, None)

    # ---- draining ---------------------------------------------------------

    def drain(self) -> int:
        """Deliver every queued record; returns how many there were.

        This loop runs once per completion: keep it to a dict lookup and a
        call."""
        count, records = self._queue.drain()
        pop = self._waiters.pop
        completion = native_queue.COMPLETION
        for record in records:
            if record[1] == completion:  # KIND
                resolve = pop(record[0], None)  # TOKEN
                if resolve is not None:
                    resolve(record)
                else:
                    self._dispose(record)
            else:
                sink = self._sinks.get(record[0])
                if sink is not None:
                    sink(record[2] & 0xFFFFFFFF, native_queue.document(record))
        return count

    def _dispose(self, record: native_queue.Record) -> None:
        token = record[native_queue.TOKEN]
        library = self._orphans.pop(token, None)
        self.done(token)
        if library is not None:
            close_operation(library, native_queue.operation(record))
        else:
            self.unmatched += 1
        info = native_queue.process_info(record)
        if info is not None:
            for handle in (info.stdin, info.stdout, info.stderr):
                if handle is not None:
                    native_queue.close_std_handle(handle)

    def stats(self) -> dict[str, int]:
        s = self._queue.stats()
        return {
            "waiters": len(self._waiters),
            "sinks": len(self._sinks),
            "orphans": len(self._orphans),
            "pushed": s.pushed,
            "wakes": s.wakes,
            "drained": s.drained,
            "drains": s.drains,
            "high_water": s.high_water,
        }


class _Resources:
    """The native slot and wake-up fds of a dispatcher, released exactly once
    (by ``Dispatcher.close`` or by the loop's finalizer, whichever is first)."""

    def __init__(self, strategy: WakeStrategy) -> None:
        self.eventfd = -1
        self.rsock: socket.socket | None = None
        self.wsock: socket.socket | None = None
        if strategy == "eventfd":
            self.queue = self._open_eventfd()
        else:
            self.rsock, self.wsock = socket.socketpair()
            self.rsock.setblocking(False)
            self.wsock.setblocking(False)
            if sys.platform == "win32":
                # socketpair() is a loopback TCP pair there: a one-byte
                # wake-up must not wait for Nagle behind a delayed ACK.
                self.wsock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.queue = native_queue.NativeQueue(native_queue.WAKE_SOCKET, self.wsock.fileno())
        self.released = False

    def _open_eventfd(self) -> native_queue.NativeQueue:
        if sys.platform == "linux":
            self.eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            return native_queue.NativeQueue(native_queue.WAKE_EVENTFD, self.eventfd)
        else:
            raise RuntimeError("the eventfd wake-up exists only on Linux")

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        # Close the slot first: the bridge writes wake-ups under the slot
        # lock, so afterwards no HCS thread can touch the fds closed below.
        self.queue.close()
        if self.eventfd >= 0:
            os.close(self.eventfd)
        for sock in (self.rsock, self.wsock):
            if sock is not None:
                sock.close()


_CURRENT: RunVar[Dispatcher] = RunVar("hcsaio_dispatcher")
_ALL: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def _backend_checkpoint() -> Callable[[], Awaitable[None]]:
    try:
        from anyio._core._eventloop import get_async_backend
    except ImportError:  # a future anyio moved it: the public, slower path
        return anyio.lowlevel.checkpoint_if_cancelled
    return get_async_backend().checkpoint_if_cancelled


class _LastUsed(threading.local):
    """Per thread, the asyncio loop that last asked and its dispatcher.

    Only a cache in front of the RunVar (which owns the dispatcher): asking
    anyio's RunVar costs about a microsecond, as much as the rest of an
    operation's Python bookkeeping, while comparing the running loop with
    the last one is a few dozen nanoseconds. Trio always takes the RunVar."""

    loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
    dispatcher: Dispatcher | None = None


_last_used = _LastUsed()


def current_dispatcher() -> Dispatcher:
    """The dispatcher of the running event loop, created on first use."""
    loop = asyncio._get_running_loop()
    cached = _last_used.loop
    if loop is not None and cached is not None and cached() is loop:
        dispatcher = _last_used.dispatcher
        if dispatcher is not None and not dispatcher._closed:
            return dispatcher
    try:
        dispatcher = _CURRENT.get()
    except LookupError:
        dispatcher = _new_dispatcher()
    if loop is not None:
        _last_used.loop = weakref.ref(loop)
        _last_used.dispatcher = dispatcher
    return dispatcher


def _new_dispatcher() -> Dispatcher:
    flavour = sniffio.current_async_library()
    if flavour not in ("asyncio", "trio"):
        raise RuntimeError(f"hcsaio supports asyncio and trio, not {flavour}")
    default_cancel_grace()  # a bad HCSAIO_CANCEL_GRACE fails here, before HCS
    dispatcher = Dispatcher(flavour, _choose_strategy(flavour))
    dispatcher._start()
    _CURRENT.set(dispatcher)
    _ALL.add(dispatcher)
    return dispatcher


def all_pending() -> list[PendingOperation]:
    """Operations in flight in every live dispatcher (every loop, every thread)."""
    result: list[PendingOperation] = []
    for dispatcher in list(_ALL):
        for _ in range(3):  # another thread may be mutating its table
            try:
                entries = list(dispatcher.pending.items())
                states = dict(dispatcher.pending_state)
                break
            except RuntimeError:
                continue
        else:
            continue
        for token, (operation, id, pid, started) in entries:
            result.append(
                PendingOperation(operation, id, pid, started, states.get(token, "running"))
            )
    return result


def spawn_system_task(fn: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``fn()`` in the background on the current loop, outside any task
    group (for work that must finish even if the caller is cancelled, such as
    flushing a closed stdin pipe). Errors are the task's own business: ``fn``
    must catch what it expects."""
    if sniffio.current_async_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(fn, name=name)
    else:
        coro = fn()
        assert asyncio.iscoroutine(coro)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)


# Strong references to background asyncio tasks (the loop keeps only weak ones).
_BACKGROUND: set[asyncio.Task[None]] = set()
