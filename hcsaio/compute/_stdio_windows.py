"""Process standard streams on Windows: overlapped pipe HANDLEs on the Proactor.

HCS returns a process's stdio as overlapped named-pipe HANDLEs that the
caller owns (hcsshim wraps them with ``winio.MakeOpenFile``, which needs
overlapped handles). asyncio's ``ProactorEventLoop`` reads and writes such
handles through I/O completion ports with ``loop.connect_read_pipe`` /
``connect_write_pipe`` over an ``asyncio.windows_utils.PipeHandle`` (the
object asyncio's own subprocess support uses: the Proactor wants the raw
HANDLE, so a CRT descriptor from ``msvcrt.open_osfhandle`` would only get in
the way).

:class:`ProactorPipeReader` and :class:`ProactorPipeWriter` subclass the
POSIX :class:`~hcsaio.compute._stdio.PipeReader` / :class:`~hcsaio.compute._stdio.PipeWriter`
and replace only the I/O underneath, so ``read``, ``readline``,
``readexactly``, ``readuntil``, ``async for``, ``write``, ``drain``,
``close``, ``wait_closed`` ... behave the same and raise the same errors.

Differences, by necessity:

* A transport reads in the background as soon as it is connected (bounded:
  reading pauses above twice the buffer limit, as ``asyncio.StreamReader``
  does), where the POSIX reader leaves data in the kernel pipe until asked.
* :meth:`ProactorPipeReader.drain_available` cannot read synchronously on a
  Proactor; it returns at once. Data the Proactor has delivered is already in
  the buffer; the rest arrives with the next await. So ``Process.wait()`` does
  not guarantee that output written just before exit is buffered on Windows;
  ``communicate()`` and reading to EOF are unaffected.
* asyncio only. trio has no pipe-HANDLE streams in hcsaio yet, and asyncio's
  ``SelectorEventLoop`` on Windows cannot wait on pipes at all; both raise
  ``NotImplementedError`` naming the gap when a process with pipes is created.

``pipe_opener`` (keyword-only) turns a handle into the pipe object given to
the loop. It defaults to ``PipeHandle``; the tests pass an fd opener to run
this very code on Linux over ``os.pipe()`` with asyncio's Unix pipe
transports, which have the same protocol contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any

import anyio
import sniffio

from ._stdio import DEFAULT_LIMIT, PipeReader, PipeWriter

PipeOpener = Callable[[int], Any]


def open_pipe_handle(handle: int) -> Any:
    """The object the Proactor reads/writes: a ``PipeHandle`` owning ``handle``."""
    if sys.platform == "win32":
        from asyncio.windows_utils import PipeHandle

        return PipeHandle(handle)
    else:
        raise OSError(f"pipe HANDLE {handle}: PipeHandle exists only on Windows")


def _proactor_for(name: str, handle: int, opener: PipeOpener) -> asyncio.AbstractEventLoop:
    """The running Proactor loop a reader or writer of ``handle`` needs;
    if there is none, ``handle`` is closed (nothing else will own it) and
    NotImplementedError says why."""
    try:
        return _require_proactor(name)
    except NotImplementedError:
        _close_unopened(opener, handle)
        raise


def _require_proactor(name: str) -> asyncio.AbstractEventLoop:
    flavour = sniffio.current_async_library()
    if flavour != "asyncio":
        raise NotImplementedError(
            f"hcsaio: process {name} on Windows needs asyncio's ProactorEventLoop; "
            f"{flavour} has no pipe-HANDLE streams in hcsaio yet (a known gap)"
        )
    loop = asyncio.get_running_loop()
    if sys.platform == "win32" and not isinstance(loop, asyncio.ProactorEventLoop):
        raise NotImplementedError(
            f"hcsaio: process {name} on Windows needs asyncio's ProactorEventLoop "
            f"(the default); {type(loop).__name__} cannot wait on pipe handles"
        )
    return loop


def _close_unopened(opener: PipeOpener, handle: int) -> None:
    """Close a handle no transport ever took ownership of."""
    with contextlib.suppress(OSError):
        opener(handle).close()


class _Source:
    """One pipe being connected to a reader or writer: the handle, the task
    connecting it, and the transport once connected."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.started = False  # the connect coroutine took ownership of the handle
        self.task: asyncio.Task[Any] | None = None
        self.transport: Any = None  # ReadTransport / WriteTransport

    def abandon(self, opener: PipeOpener) -> None:
        """Stop connecting: close the transport, or the bare handle if nothing owns it yet."""
        if self.transport is not None:
            self.transport.close()
        elif self.task is not None and not self.task.done():
            self.task.cancel()  # a started connect closes its own transport on cancel
            if not self.started:
                _close_unopened(opener, self.handle)


class _ReadProtocol(asyncio.Protocol):
    def __init__(self, reader: ProactorPipeReader, source: _Source) -> None:
        self._reader = reader
        self._source = source

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._reader._on_connected(self._source, transport)

    def data_received(self, data: bytes) -> None:
        self._reader._on_data(data)

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._reader._on_source_done(exc)


class ProactorPipeReader(PipeReader):
    """Reading end of a process pipe (stdout or stderr) on the Proactor."""

    # Data arrives through the protocol into the buffer; there is no fd to
    # read from directly.
    _direct_reads = False

    def __init__(
        self,
        handle: int,
        *,
        limit: int = DEFAULT_LIMIT,
        name: str = "stdout",
        pipe_opener: PipeOpener = open_pipe_handle,
    ) -> None:
        self._loop = _proactor_for(name, handle, pipe_opener)
        # PipeReader's reading algorithms use _buffer, _eof, _closed, _limit.
        self._fd = handle
        self._limit = limit
        self._name = name
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self._opener = pipe_opener
        self._pipes: list[_Source] = []
        self._open_sources = 0
        self._error: BaseException | None = None
        self._paused = False
        self._progress = asyncio.Event()
        self._connect(handle)

    def __repr__(self) -> str:
        return (
            f"<ProactorPipeReader {self._name} handle={self._fd} "
            f"buffered={len(self._buffer)} eof={self._eof}>"
        )

    # ---- connecting ---------------------------------------------------------

    def _connect(self, handle: int) -> None:
        source = _Source(handle)
        self._pipes.append(source)
        self._open_sources += 1

        async def connect() -> None:
            source.started = True
            pipe = self._opener(handle)
            await self._loop.connect_read_pipe(lambda: _ReadProtocol(self, source), pipe)

        source.task = self._loop.create_task(connect(), name=f"hcsaio-{self._name}-connect")
        source.task.add_done_callback(self._connect_done)

    def _connect_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # never connected: this source is over
            self._on_source_done(exc)

    def _on_connected(self, source: _Source, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        source.transport = transport
        if self._closed:
            transport.close()
        elif self._paused:
            transport.pause_reading()

    # ---- protocol events ------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self._buffer += data
        self._progress.set()
        if not self._paused and len(self._buffer) > 2 * self._limit:
            self._paused = True
            for source in self._pipes:
                if source.transport is not None:
                    source.transport.pause_reading()

    def _resume_if_drained(self) -> None:
        if self._paused and len(self._buffer) <= self._limit:
            self._paused = False
            for source in self._pipes:
                if source.transport is not None and not source.transport.is_closing():
                    source.transport.resume_reading()

    def _on_source_done(self, exc: BaseException | None) -> None:
        self._open_sources -= 1
        if exc is not None and self._error is None and not self._closed:
            self._error = exc  # raised by the next read, never mistaken for EOF
        if self._open_sources <= 0 and self._error is None:
            self._eof = True
        self._progress.set()

    # ---- what PipeReader's algorithms call -------------------------------------

    def _read_now(self) -> bool:
        return False  # the Proactor reads; nothing to do synchronously

    async def _fill(self) -> None:
        """Wait until more data, EOF or an error arrived."""
        if self._closed:
            raise anyio.ClosedResourceError(f"{self._name} is closed")
        if self._error is not None:
            raise self._error
        if self._eof:
            return
        self._progress.clear()
        self._resume_if_drained()
        await self._progress.wait()
        if self._error is not None:
            raise self._error

    def _take(self, n: int) -> bytes:
        data = super()._take(n)
        self._resume_if_drained()
        return data

    # ---- surface ---------------------------------------------------------------

    def add_source(self, fd: int) -> None:
        """Also read this pipe handle into the same buffer (stderr merged into
        stdout): EOF comes when every source has ended."""
        self._connect(fd)

    def drain_available(self, max_bytes: int | None = None) -> None:
        """Best effort on the Proactor: what it delivered is already buffered."""

    def close(self) -> None:
        """Close our end of every pipe. Buffered data stays readable."""
        if self._closed:
            return
        self._closed = True
        for source in self._pipes:
            source.abandon(self._opener)
        self._progress.set()


class _WriteProtocol(asyncio.Protocol):
    def __init__(self, writer: ProactorPipeWriter) -> None:
        self._writer = writer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._writer._on_connected(transport)

    def pause_writing(self) -> None:
        self._writer._writable.clear()

    def resume_writing(self) -> None:
        self._writer._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._writer._on_lost(exc)


class ProactorPipeWriter(PipeWriter):
    """Writing end of a process pipe (stdin) on the Proactor."""

    def __init__(
        self,
        handle: int,
        *,
        high_water: int = 2**16,
        name: str = "stdin",
        pipe_opener: PipeOpener = open_pipe_handle,
    ) -> None:
        self._loop = _proactor_for(name, handle, pipe_opener)
        self._fd = handle
        self._name = name
        self._buffer = bytearray()  # only until the transport exists
        self._high_water = high_water
        self._closing = False
        self._closed = False
        self._broken: BaseException | None = None
        self._flushed = anyio.Event()
        self._opener = pipe_opener
        self._transport: asyncio.WriteTransport | None = None
        self._writable = asyncio.Event()  # cleared while the transport is above high water
        self._writable.set()
        self._settled = asyncio.Event()  # connected, or failed to
        self._source = _Source(handle)

        async def connect() -> None:
            self._source.started = True
            pipe = self._opener(handle)
            await self._loop.connect_write_pipe(lambda: _WriteProtocol(self), pipe)

        self._source.task = self._loop.create_task(connect(), name=f"hcsaio-{name}-connect")
        self._source.task.add_done_callback(self._connect_done)

    def __repr__(self) -> str:
        return f"<ProactorPipeWriter {self._name} handle={self._fd} closing={self._closing}>"

    # ---- connecting and protocol events -----------------------------------------

    def _connect_done(self, task: asyncio.Task[Any]) -> None:
        self._settled.set()
        if task.cancelled():
            self._finish()
            return
        exc = task.exception()
        if exc is not None:
            self._broken = exc
            self._finish()

    def _on_connected(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self._source.transport = transport
        transport.set_write_buffer_limits(high=self._high_water)
        if self._buffer:
            transport.write(bytes(self._buffer))
            self._buffer.clear()
        if self._closing:
            transport.close()

    def _on_lost(self, exc: BaseException | None) -> None:
        if exc is not None and self._broken is None:
            self._broken = exc
        self._writable.set()
        self._finish()

    def _finish(self) -> None:
        self._closed = True
        self._buffer.clear()
        self._flushed.set()

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise BrokenPipeError(f"{self._name}: the process closed its end") from self._broken

    # ---- surface -----------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; the transport writes it as the pipe accepts it."""
        if self._closing:
            raise anyio.ClosedResourceError(f"{self._name} is closed")
        self._raise_if_broken()
        if self._closed:  # lost without an error: the reader went away
            raise BrokenPipeError(f"{self._name}: the pipe is closed")
        if self._transport is None:
            self._buffer += data
        elif self._transport.is_closing():  # we did not close it: the pipe broke
            raise BrokenPipeError(f"{self._name}: the process closed its end")
        else:
            self._transport.write(bytes(data))

    async def drain(self) -> None:
        """Wait until the queued data is below the high-water mark."""
        self._raise_if_broken()
        if self._transport is None and not self._closed and len(self._buffer) > self._high_water:
            await self._settled.wait()
        if self._transport is not None and self._transport.is_closing():
            # Let connection_lost (and its error) be delivered, as
            # asyncio.StreamWriter.drain does.
            await asyncio.sleep(0)
        await self._writable.wait()
        self._raise_if_broken()

    def close(self) -> None:
        """Stop accepting data; what is queued is still written, then the pipe
        is closed (the transport flushes before closing)."""
        if self._closing:
            return
        self._closing = True
        if self._transport is not None:
            self._transport.close()
        # Not connected yet: _on_connected writes the queue and closes.

    async def wait_closed(self) -> None:
        await self._flushed.wait()

    def abort(self) -> None:
        """Close at once, dropping queued data."""
        self._closing = True
        self._buffer.clear()
        if self._transport is not None:
            self._transport.abort()
        else:
            self._source.abandon(self._opener)
