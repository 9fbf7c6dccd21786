"""Blocking storage work off the event loop, cancellable and bounded.

Layer import and export are long runs of file-system calls (open, write,
mkdir, chown, utime, xattrs...) on the order of the entries of a tar. They run
in one worker thread per call from ``anyio.to_thread`` behind a small
``CapacityLimiter`` of our own: this is plain file I/O, not an HCS call, so the
rule "DLL calls run on the bridge's native worker threads" does not apply, and
the limiter keeps a burst of imports from taking every default worker thread.
Never a thread per file: the whole call is one function in one thread.

Cancellation and ``timeout=``: the thread is never abandoned (it would keep
writing into a layer the caller believes gone). Cancelling sets a stop flag
the worker checks between entries and chunks; the awaiting task waits for the
worker to see it, clean up (remove its temporary folder) and return, then
raises the cancellation (or ``TimeoutError``).

Async byte streams: the worker pulls from (or pushes to) an anyio byte stream
through ``anyio.from_thread.run``, each call inside a cancel scope the stop
path cancels, so a stream that never delivers cannot pin the worker.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import ByteReceiveStream, ByteSendStream

__all__ = ["AsyncStreamReader", "AsyncStreamWriter", "Stop", "Stopped", "run_blocking"]

T = TypeVar("T")

#: How many storage workers run at once per event loop.
MAX_WORKERS = 4
_LIMITER: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar(
    "hcsaio_storage_limiter"
)


class Stopped(Exception):
    """Raised inside the worker when the caller cancelled or timed out."""


class Stop:
    """The stop flag a worker polls, and the cancel scopes of the stream calls
    it has in flight on the event loop (cancelled with it)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._scopes: set[anyio.CancelScope] = set()

    def set(self) -> None:
        """Called on the event loop thread."""
        self._event.set()
        for scope in list(self._scopes):
            scope.cancel()

    def check(self) -> None:
        if self._event.is_set():
            raise Stopped

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


def _limiter() -> anyio.CapacityLimiter:
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(MAX_WORKERS)
        _LIMITER.set(limiter)
        return limiter


async def run_blocking(fn: Callable[[Stop], T], *, timeout: float | None, what: str) -> T:
    """Run ``fn(stop)`` in a storage worker thread; ``TimeoutError`` naming
    ``what`` after ``timeout`` seconds, once the worker has stopped."""
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, not {timeout!r}")
    stop = Stop()
    result: list[T] = []

    async def watch() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stop.set()

    failure: list[BaseException] = []

    async def work(scope: anyio.CancelScope) -> None:
        try:
            # Not abandoned on cancel: the wait is shielded until the worker
            # returns, which the stop flag makes prompt.
            result.append(
                await anyio.to_thread.run_sync(
                    fn, stop, limiter=_limiter(), abandon_on_cancel=False
                )
            )
        except Exception as exc:
            # Kept out of the task group (which would wrap it in a group);
            # after a stop, whatever the worker hit while stopping is moot:
            # the cancellation that set the flag is what the caller sees.
            if not stop.is_set:
                failure.append(exc)
        finally:
            scope.cancel()

    with anyio.move_on_after(timeout) as deadline:
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await work(tg.cancel_scope)
    if failure:
        raise failure[0]
    if deadline.cancelled_caught and not result:
        raise TimeoutError(f"{what}: not done after {timeout} s (stopped, nothing kept)")
    if not result:  # stopped without a cancellation of ours: cannot happen
        raise RuntimeError(f"{what}: worker stopped unexpectedly")
    return result[0]


class AsyncStreamReader(io.RawIOBase):
    """A blocking, readable file over an anyio ``ByteReceiveStream``, for use
    in the worker thread only."""

    def __init__(self, stream: ByteReceiveStream, stop: Stop) -> None:
        super().__init__()
        self._stream = stream
        self._stop = stop
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    async def _receive(self) -> bytes:
        with anyio.CancelScope() as scope:
            self._stop._scopes.add(scope)
            try:
                if self._stop.is_set:
                    raise Stopped
                return await self._stream.receive()
            except anyio.EndOfStream:
                return b""
            finally:
                self._stop._scopes.discard(scope)
        raise Stopped

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending and not self._eof:
            self._stop.check()
            chunk = anyio.from_thread.run(self._receive)
            if not chunk:
                self._eof = True
            self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class AsyncStreamWriter(io.RawIOBase):
    """A blocking, writable file over an anyio ``ByteSendStream`` (worker
    thread only). Each write is one ``send``; wrap it in a BufferedWriter for
    reasonable chunk sizes."""

    def __init__(self, stream: ByteSendStream, stop: Stop) -> None:
        super().__init__()
        self._stream = stream
        self._stop = stop

    def writable(self) -> bool:
        return True

    async def _send(self, data: bytes) -> None:
        with anyio.CancelScope() as scope:
            self._stop._scopes.add(scope)
            try:
                if self._stop.is_set:
                    raise Stopped
                await self._stream.send(data)
                return
            finally:
                self._stop._scopes.discard(scope)
        raise Stopped

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._stop.check()
        anyio.from_thread.run(self._send, bytes(data))
        return len(data)
