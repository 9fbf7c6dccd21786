"""Process standard streams: StreamReader/StreamWriter-like, on any loop.

HCS hands the caller the pipe handles it created for a process (on Linux,
the emulator passes real fds; on Windows, overlapped pipe HANDLEs). These
classes give them the ``asyncio.StreamReader``/``StreamWriter`` surface
people already know (``read``, ``readline``, ``readexactly``, ``readuntil``,
``at_eof``, ``async for line in ...``; ``write``, ``drain``, ``close``,
``wait_closed``, ``write_eof``) but work on asyncio, uvloop and trio, because
waiting is done with ``anyio.wait_readable``/``wait_writable`` on the fd.

Nothing reads in the background: data stays in the kernel pipe until
someone reads it, so a process that writes more than nobody reads blocks,
as with ``asyncio.subprocess``. :meth:`PipeReader.drain_available` pulls
whatever is already in the pipe without waiting; ``Process.wait`` uses it
so that output written just before exit is in the reader's buffer when
``wait`` returns, even if another holder keeps the pipe open.

Windows: ``PipeReader``/``PipeWriter`` are selected for POSIX fds; the
Proactor variants in ``_stdio_windows`` wrap the overlapped pipe handles
with ``loop.connect_read_pipe``/``connect_write_pipe`` (asyncio only).
:func:`~hcsaio.compute._stdio_open.open_reader`/``open_writer`` choose by
platform, in a module of their own: ``_stdio_windows`` builds on this one,
which therefore must not import it back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import AsyncIterator
from typing import ClassVar, Final

import anyio

from .._core._dispatch import spawn_system_task

#: How much one read() system call asks for; large enough that 1 GiB
#: streams through a few thousand wake-ups, not millions.
READ_CHUNK: Final = 256 * 1024
#: Default buffer limit of readline/readuntil, as asyncio's.
DEFAULT_LIMIT: Final = 2**16


#: Pipe buffer asked for on Linux (F_SETPIPE_SZ); the default is 64 KiB.
PIPE_SIZE: Final = 1 << 20
_F_SETPIPE_SZ: Final = 1031

if sys.platform == "win32":

    def _set_nonblocking(fd: int) -> None:
        raise NotImplementedError("PipeReader/PipeWriter take POSIX fds; see open_reader()")

    def _grow_pipe(fd: int) -> None:
        pass

else:
    import fcntl

    def _set_nonblocking(fd: int) -> None:
        os.set_blocking(fd, False)

    def _grow_pipe(fd: int) -> None:
        """Ask for a 1 MiB pipe buffer: bulk output then needs a sixteenth of
        the wake-ups and system calls. Not a pipe (a pty), or over the
        system's limit (/proc/sys/fs/pipe-max-size): the size stays."""
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_SIZE)


class IncompleteReadError(EOFError):
    """EOF before the expected bytes; ``partial`` holds what was read.
    (Same meaning as ``asyncio.IncompleteReadError``.)"""

    def __init__(self, partial: bytes, expected: int | None) -> None:
        self.partial = partial
        self.expected = expected
        super().__init__(f"{len(partial)} bytes read on a total of {expected} expected bytes")


class LimitOverrunError(Exception):
    """The separator was not found within the buffer limit."""

    def __init__(self, message: str, consumed: int) -> None:
        super().__init__(message)
        self.consumed = consumed


class PipeReader:
    """Reading end of a process pipe (stdout or stderr)."""

    #: read(n) on an empty buffer returns what one read() system call gave,
    #: without a copy through the buffer (subclasses without fds turn it off).
    _direct_reads: ClassVar[bool] = True

    def __init__(self, fd: int, *, limit: int = DEFAULT_LIMIT, name: str = "stdout") -> None:
        _set_nonblocking(fd)
        _grow_pipe(fd)
        self._fd = fd
        self._sources = [fd]  # fds not yet at EOF
        self._extra: list[int] = []  # merged sources, closed with this reader
        self._limit = limit
        self._name = name
        self._buffer = bytearray()
        self._eof = False
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<PipeReader {self._name} fd={self._fd} buffered={len(self._buffer)} eof={self._eof}>"
        )

    # ---- low level --------------------------------------------------------

    def add_source(self, fd: int) -> None:
        """Also read ``fd`` into this reader (``stderr=STDOUT``: HCS has no way
        to merge the pipes, so hcsaio interleaves them as data arrives)."""
        _set_nonblocking(fd)
        _grow_pipe(fd)
        self._sources.append(fd)
        self._extra.append(fd)

    def _read_source(self, fd: int, size: int) -> bytes | None:
        """One non-blocking read: the data, ``b""`` at EOF (the source is then
        dropped), ``None`` if nothing was ready."""
        try:
            chunk = os.read(fd, size)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            # A pty master reads EIO once the console side is gone: EOF.
            if exc.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            self._sources.remove(fd)
            self._eof = not self._sources
        return chunk

    def _read_now(self) -> bool:
        """One non-blocking read from each source into the buffer. False if
        nothing was ready anywhere."""
        progress = False
        for fd in list(self._sources):
            chunk = self._read_source(fd, READ_CHUNK)
            if chunk is not None:
                progress = True
                self._buffer += chunk
        return progress

    def _read_direct(self, n: int) -> bytes | None:
        """With an empty buffer: up to ``n`` bytes straight from a source,
        not copied through the buffer (the streaming case). ``None`` if
        nothing was ready; ``b""`` once every source is at EOF."""
        for fd in list(self._sources):
            chunk = self._read_source(fd, n)
            if chunk:
                return chunk
        return b"" if self._eof else None

    async def _wait(self) -> None:
        if self._closed:
            raise anyio.ClosedResourceError(f"{self._name} is closed")
        if len(self._sources) == 1:
            await anyio.wait_readable(self._sources[0])
        else:
            await self._wait_any()

    async def _fill(self) -> None:
        """Wait until at least one more read made progress (data or EOF)."""
        if self._closed:
            raise anyio.ClosedResourceError(f"{self._name} is closed")
        while not self._read_now():
            await self._wait()

    async def _wait_any(self) -> None:
        async with anyio.create_task_group() as tg:

            async def wait(fd: int) -> None:
                await anyio.wait_readable(fd)
                tg.cancel_scope.cancel()

            for fd in self._sources:
                tg.start_soon(wait, fd)

    def drain_available(self, max_bytes: int | None = None) -> None:
        """Move what is already in the pipe into the buffer, without waiting."""
        while not self._eof and not self._closed:
            if max_bytes is not None and len(self._buffer) >= max_bytes:
                return
            if not self._read_now():
                return

    def _take(self, n: int) -> bytes:
        if n >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
            return data
        data = bytes(memoryview(self._buffer)[:n])
        del self._buffer[:n]
        return data

    # ---- asyncio.StreamReader surface ------------------------------------

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (at least one unless at EOF); ``-1``: until EOF."""
        if n == 0:
            return b""
        if n < 0:
            while not self._eof:
                await self._fill()
            return self._take(len(self._buffer))
        if not self._buffer and self._direct_reads:
            while not self._eof:
                chunk = self._read_direct(n)
                if chunk is not None:
                    return chunk
                await self._wait()
            return b""
        if not self._buffer and not self._eof:
            await self._fill()
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        while len(self._buffer) < n:
            if self._eof:
                partial = self._take(len(self._buffer))
                raise IncompleteReadError(partial, n)
            await self._fill()
        return self._take(n)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        if not separator:
            raise ValueError("separator should be at least one-byte string")
        start = 0
        while True:
            index = self._buffer.find(separator, start)
            if index >= 0:
                end = index + len(separator)
                if end > self._limit:
                    raise LimitOverrunError(
                        "separator is found, but chunk is longer than limit", index
                    )
                return self._take(end)
            if len(self._buffer) > self._limit:
                raise LimitOverrunError(
                    "separator is not found, and chunk exceed the limit", len(self._buffer)
                )
            if self._eof:
                raise IncompleteReadError(self._take(len(self._buffer)), None)
            start = max(0, len(self._buffer) - len(separator) + 1)
            await self._fill()

    async def readline(self) -> bytes:
        """A line including ``\\n``, or the rest at EOF (like asyncio)."""
        try:
            return await self.readuntil(b"\n")
        except IncompleteReadError as e:
            return e.partial
        except LimitOverrunError as e:
            if self._buffer.startswith(b"\n", e.consumed):
                del self._buffer[: e.consumed + 1]
            else:
                self._buffer.clear()
            raise ValueError(e.args[0]) from e

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    # ---- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Close our end of the pipe. Buffered data stays readable."""
        if self._closed:
            return
        self._closed = True
        for fd in self._all_fds():
            with contextlib.suppress(Exception):
                anyio.notify_closing(fd)
            os.close(fd)

    def _all_fds(self) -> list[int]:
        return [self._fd, *self._extra]


class PipeWriter:
    """Writing end of a process pipe (stdin)."""

    def __init__(self, fd: int, *, high_water: int = 2**16, name: str = "stdin") -> None:
        _set_nonblocking(fd)
        _grow_pipe(fd)
        self._fd = fd
        self._name = name
        self._buffer = bytearray()
        self._high_water = high_water
        self._closing = False
        self._closed = False
        self._broken: BaseException | None = None
        self._flushed = anyio.Event()

    def __repr__(self) -> str:
        return f"<PipeWriter {self._name} fd={self._fd} buffered={len(self._buffer)} closing={self._closing}>"

    def _write_now(self) -> None:
        while self._buffer:
            try:
                n = os.write(self._fd, self._buffer)
            except (BlockingIOError, InterruptedError):
                return
            except (BrokenPipeError, ConnectionResetError) as exc:
                self._broken = exc
                self._buffer.clear()
                return
            del self._buffer[:n]

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` and write what the pipe accepts now."""
        if self._closing:
            raise anyio.ClosedResourceError(f"{self._name} is closed")
        if self._broken is not None:
            raise BrokenPipeError(f"{self._name}: the process closed its end") from self._broken
        self._buffer += data
        self._write_now()

    def writelines(self, lines: list[bytes]) -> None:
        for line in lines:
            self.write(line)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Flush in the background, then close the pipe: the process sees EOF."""
        self.close()

    def is_closing(self) -> bool:
        return self._closing

    async def _flush(self) -> None:
        while self._buffer and self._broken is None:
            await anyio.wait_writable(self._fd)
            self._write_now()

    async def drain(self) -> None:
        """Wait until the buffer is below the high-water mark."""
        if self._broken is not None:
            raise BrokenPipeError(f"{self._name}: the process closed its end") from self._broken
        while len(self._buffer) > self._high_water and self._broken is None:
            await anyio.wait_writable(self._fd)
            self._write_now()
        if self._broken is not None:
            raise BrokenPipeError(f"{self._name}: the process closed its end") from self._broken

    def close(self) -> None:
        """Stop accepting data; what is queued is still written, then the
        pipe is closed (in the background if it cannot be written now)."""
        if self._closing:
            return
        self._closing = True
        self._write_now()
        if not self._buffer or self._broken is not None:
            self._close_fd()
        else:
            spawn_system_task(self._flush_then_close, name=f"hcsaio-{self._name}-flush")

    async def _flush_then_close(self) -> None:
        try:
            await self._flush()
        except (OSError, anyio.ClosedResourceError):
            pass
        finally:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        with contextlib.suppress(Exception):
            anyio.notify_closing(self._fd)
        os.close(self._fd)
        self._flushed.set()

    async def wait_closed(self) -> None:
        """Wait until queued data is written and the pipe is closed."""
        await self._flushed.wait()

    def abort(self) -> None:
        """Close at once, dropping queued data."""
        self._closing = True
        self._close_fd()
