"""Per-event-loop dispatchers: from bridge records to awaiting tasks.

One :class:`Dispatcher` exists per running event loop. It owns a bridge
slot (the C queue the trampolines push to) and a wake-up channel, and maps
tokens to:

* completion waiters (one-shot, popped when the completion arrives);
* event sinks (long-lived: a compute system's or process's callback);
* orphans: operations abandoned after a cancel grace period; their late
  completion closes the operation here.

Its life is the loop's, never a task's: an asyncio loop owns its dispatcher
(an attribute of the loop; the dispatcher holds the loop only weakly, so a
loop closed by hand and dropped is collected, and its finalizer releases the
slot and fds), ``asyncio.run()`` closes it after every task has finished
(at ``shutdown_asyncgens``), and a trio run's dispatcher lives in a
``RunVar`` and closes when the run ends.

Wake-up strategies (``HCSAIO_WAKEUP`` overrides the automatic choice):

* ``eventfd``: Linux selector loops and uvloop. ``loop.add_reader`` on an
  eventfd; the drain runs as a plain loop callback, no task involved.
* ``socket``: a socketpair whose read end the loop watches with
  ``add_reader`` where it has one (macOS, a forced socket on Linux), and
  otherwise (trio, asyncio's Proactor loop on Windows) a pump task awaits
  with ``anyio.wait_readable``. A cancelled pump (``asyncio.run()`` cancels
  every task at exit, the pump with the operations it serves) keeps
  delivering until no operation waits for a completion, so cancelled
  operations finish their shielded waits instead of running out the grace;
  on asyncio a later operation starts a new pump.

Either way, a burst of completions costs one wake-up and one drain call, and
an exception from one record's handler is reported without losing the rest
of the batch or the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
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

_log = logging.getLogger("hcsaio")

#: Token sequences a dispatcher reserves at a time: small at first (most
#: loops run few operations and each reservation is spent for good), then
#: larger, so a busy loop asks the bridge rarely.
_FIRST_BLOCK = 256
_MAX_BLOCK = 65536

#: The attribute of an asyncio loop that holds its dispatcher.
_LOOP_ATTRIBUTE = "_hcsaio_dispatcher"


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
        #: handler failures reported (see drain)
        self.handler_errors = 0
        self._resources = _Resources(strategy)
        self._queue = self._resources.queue
        self._eventfd = self._resources.eventfd
        self._rsock = self._resources.rsock
        self._token_base = self._queue.token_base
        self._next_seq = 0
        self._seq_end = 0
        self._block = _FIRST_BLOCK
        #: the asyncio loop, weakly: the loop owns the dispatcher, never
        #: the other way round
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        #: whether something delivers records: the loop's reader, or a live
        #: pump task (expect() starts a new pump when the last one ended)
        self._pumping = False
        self._draining_out = False
        #: the fd this dispatcher gave the loop's add_reader, if any
        self._reader_fd: int | socket.socket | None = None
        #: anyio's "checkpoint if the enclosing scope is cancelled", bound
        #: to this loop's backend once (the public function looks the
        #: backend up on every call, which costs as much as an operation's
        #: own bookkeeping); on asyncio it also honours a task.cancel()
        #: not yet delivered.
        self.checkpoint_if_cancelled = _backend_checkpoint(flavour)
        self._new_waiter: Callable[[], Waiter] = (
            AsyncioWaiter if flavour == "asyncio" else TrioWaiter
        )

    # ---- start/stop -------------------------------------------------------

    def _start_asyncio(self, loop: asyncio.AbstractEventLoop, pump: bool) -> None:
        self._loop = weakref.ref(loop)
        if self.strategy == "eventfd":
            loop.add_reader(self._eventfd, self._on_eventfd)
            self._reader_fd = self._eventfd
            self._pumping = True
        elif not pump:
            assert self._rsock is not None
            loop.add_reader(self._rsock, self._on_socket)
            self._reader_fd = self._rsock
            self._pumping = True
        else:
            self._start_pump()
        # Close when the loop shuts down: asyncio.run() and friends call
        # aclose() on every live async generator the loop has seen, after
        # the last task finished, which runs the lifeline's finally. The
        # finalizer is the fallback for loops closed by hand; it must not
        # reference self, or the loop would keep the dispatcher alive.
        self._lifeline_gen = self._lifeline()
        with contextlib.suppress(StopIteration):
            self._lifeline_gen.asend(None).send(None)
        weakref.finalize(loop, self._resources.release)

    def _start_pump(self) -> None:
        self._pumping = True
        if self.flavour == "asyncio":
            # The loop holds the task while it waits; this dispatcher does
            # not (it must hold nothing that holds the loop).
            asyncio.get_running_loop().create_task(self._pump(), name="hcsaio-dispatcher")
        else:
            import trio

            trio.lowlevel.spawn_system_task(self._pump, name="hcsaio-dispatcher")

    def close(self) -> None:
        """Stop dispatching; the bridge disposes of late records itself."""
        if self._closed:
            return
        self._closed = True
        loop = self._loop() if self._loop is not None else None
        if loop is not None and self._reader_fd is not None and not loop.is_closed():
            with contextlib.suppress(Exception):
                loop.remove_reader(self._reader_fd)
        elif self._rsock is not None:
            # trio (and anyio) must be told before an awaited fd is closed;
            # this wakes a pump with ClosedResourceError.
            with contextlib.suppress(Exception):
                anyio.notify_closing(self._rsock)
        self._resources.release()

    async def _lifeline(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self.close()

    def _read_wakeups(self) -> None:
        sock = self._rsock
        assert sock is not None
        with contextlib.suppress(BlockingIOError, InterruptedError):
            sock.recv(4096)

    def _on_socket(self) -> None:
        self._read_wakeups()
        self.drain()

    def _on_eventfd(self) -> None:
        if sys.platform == "linux":  # the only platform that chooses eventfd
            with contextlib.suppress(BlockingIOError, InterruptedError):
                os.eventfd_read(self._eventfd)
        self.drain()

    async def _pump(self) -> None:
        sock = self._rsock
        assert sock is not None
        try:
            while not self._closed:
                try:
                    await anyio.wait_readable(sock)
                except (anyio.ClosedResourceError, OSError):
                    return  # closed by Dispatcher.close()
                except anyio.get_cancelled_exc_class():
                    if self._waiters:
                        await self._drain_out(sock)
                    raise
                self._read_wakeups()
                self.drain()
        finally:
            self._pumping = False
            if self.flavour == "trio":
                # The system nursery is cancelled when the run ends: so is
                # this dispatcher's life.
                self.close()

    async def _drain_out(self, sock: socket.socket) -> None:
        """Cancelled with operations still waiting for their completions:
        deliver, shielded, until none waits (a cancelled operation waits
        for its completion before it lets go), then let the cancel through."""
        self._draining_out = True
        try:
            with anyio.CancelScope(shield=True):
                while self._waiters and not self._closed:
                    try:
                        await anyio.wait_readable(sock)
                    except (anyio.ClosedResourceError, OSError):
                        return
                    except asyncio.CancelledError:
                        # A further native cancel (the shield stops only
                        # anyio's); the first one is re-raised by _pump.
                        continue
                    self._read_wakeups()
                    self.drain()
        finally:
            self._draining_out = False

    def _waiter_gone(self) -> None:
        """A waiter left without a record: a draining-out pump must not wait
        for a completion nobody expects any more."""
        if self._draining_out and not self._waiters:
            self._resources.poke()

    @property
    def released(self) -> bool:
        """Whether the bridge slot is gone (closed, or its loop collected):
        from then on the bridge disposes of every record for its tokens,
        closing their operations itself."""
        return self._resources.released

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
        if not self._pumping:
            self._start_pump()
        return waiter

    def on_completion(self, token: int, resolve: Callable[[native_queue.Record], None]) -> None:
        """Call ``resolve(record)`` on the loop when the operation completes:
        for an operation nobody awaits (``Process.kill()``), whose owner must
        still learn that it ended. ``forget``/``abandon`` drop it like a waiter."""
        self._waiters[token] = resolve

    def forget(self, token: int) -> None:
        """The operation never started: no completion will come (HCS does not
        call back for a synchronous failure)."""
        self._waiters.pop(token, None)
        self.done(token)
        self._waiter_gone()

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
        self._waiter_gone()

    def subscribe(self, token: int, sink: EventSink) -> None:
        self._sinks[token] = sink
        if not self._pumping:
            self._start_pump()

    def unsubscribe(self, token: int) -> None:
        self._sinks.pop(token, None)

    # ---- draining ---------------------------------------------------------

    def drain(self) -> int:
        """Deliver every queued record; returns how many there were.

        This loop runs once per completion: keep it to a dict lookup and a
        call (the try costs nothing until something raises). A handler that
        raises is reported and the batch goes on: the records after it were
        already taken from the bridge, and nobody else would deliver them."""
        count, records = self._queue.drain()
        pop = self._waiters.pop
        completion = native_queue.COMPLETION
        interrupt: BaseException | None = None
        for record in records:
            try:
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
            except Exception as exc:
                self._report(exc, record)
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: after the batch
                if interrupt is None:
                    interrupt = exc
        if interrupt is not None:
            raise interrupt
        return count

    def _report(self, exc: Exception, record: native_queue.Record) -> None:
        self.handler_errors += 1
        what = "completion" if record[native_queue.KIND] == native_queue.COMPLETION else "event"
        message = f"hcsaio: delivering a{'n' if what == 'event' else ''} {what} failed"
        loop = self._loop() if self._loop is not None else None
        if loop is not None and not loop.is_closed():
            loop.call_exception_handler(
                {"message": message, "exception": exc, "token": record[native_queue.TOKEN]}
            )
        else:
            _log.error("%s (token %#x)", message, record[native_queue.TOKEN], exc_info=exc)

    def _dispose(self, record: native_queue.Record) -> None:
        token = record[native_queue.TOKEN]
        library = self._orphans.pop(token, None)
        self.done(token)
        info = native_queue.process_info(record)
        try:
            if library is not None:
                close_operation(library, native_queue.operation(record))
            else:
                self.unmatched += 1
        finally:
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

    def poke(self) -> None:
        """Wake the reader without a record (a full buffer is a wake-up pending)."""
        if self.wsock is not None and not self.released:
            with contextlib.suppress(OSError):
                self.wsock.send(b"\0")

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


#: trio runs' dispatchers (and asyncio loops that take no attributes).
_CURRENT: RunVar[Dispatcher] = RunVar("hcsaio_dispatcher")
_ALL: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def _backend_checkpoint(flavour: str) -> Callable[[], Awaitable[None]]:
    try:
        from anyio._core._eventloop import get_async_backend
    except ImportError:  # a future anyio moved it: the public, slower path
        anyio_checkpoint = anyio.lowlevel.checkpoint_if_cancelled
    else:
        anyio_checkpoint = get_async_backend().checkpoint_if_cancelled
    if flavour != "asyncio":
        return anyio_checkpoint
    current_task = asyncio.current_task

    async def checkpoint() -> None:
        # anyio looks at its cancel scopes only: a task.cancel() requested
        # while the task ran (not yet delivered, as nothing was awaited)
        # must stop the operation before it starts too.
        task = current_task()
        if task is not None and getattr(task, "_must_cancel", False):
            await asyncio.sleep(0)  # delivers it
        await anyio_checkpoint()

    return checkpoint


def current_dispatcher() -> Dispatcher:
    """The dispatcher of the running event loop, created on first use."""
    loop = asyncio._get_running_loop()
    if loop is not None:
        dispatcher: Dispatcher | None = getattr(loop, _LOOP_ATTRIBUTE, None)
        if dispatcher is not None and not dispatcher._closed:
            return dispatcher
    return _slow_dispatcher(loop)


def _slow_dispatcher(loop: asyncio.AbstractEventLoop | None) -> Dispatcher:
    dispatcher = _CURRENT.get(None)
    if dispatcher is not None and not dispatcher._closed:
        return dispatcher
    # None yet, or closed while the loop runs on (asyncio.run() keeps the
    # loop running after shutdown_asyncgens): a fresh one, so a late caller
    # gets a working dispatcher instead of "closed" for the rest of the loop.
    flavour = sniffio.current_async_library()
    if flavour not in ("asyncio", "trio"):
        raise RuntimeError(f"hcsaio supports asyncio and trio, not {flavour}")
    default_cancel_grace()  # a bad HCSAIO_CANCEL_GRACE fails here, before HCS
    dispatcher = Dispatcher(flavour, _choose_strategy(flavour))
    if flavour == "asyncio":
        running = asyncio.get_running_loop()
        dispatcher._start_asyncio(running, pump=not _supports_add_reader(running))
        try:
            setattr(running, _LOOP_ATTRIBUTE, dispatcher)
        except AttributeError:
            # A loop class with __slots__: the RunVar holds it instead,
            # which keeps a loop closed by hand alive until its thread ends.
            _CURRENT.set(dispatcher)
    else:
        dispatcher._start_pump()
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
