"""The local terminal: raw mode, window size, and reading/writing our stdio
without blocking the event loop where it can be avoided."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from typing import Final

STDIN: Final = 0
STDOUT: Final = 1
STDERR: Final = 2
READ_SIZE: Final = 64 * 1024

if sys.platform != "win32":
    import termios
    import tty


def isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def window_size() -> tuple[int, int] | None:
    """``(rows, columns)`` of the terminal on stdout, else stdin, else None."""
    for fd in (STDOUT, STDIN, STDERR):
        if isatty(fd):
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                continue
            if size.lines > 0 and size.columns > 0:
                return size.lines, size.columns
    return None


@contextlib.contextmanager
def raw_mode(fd: int = STDIN) -> Iterator[bool]:
    """Put the terminal on ``fd`` in raw mode (keystrokes, Ctrl-C included,
    go to the container's console, which does its own echo and line
    editing); restore it however the block ends. Yields whether raw mode is
    on (False when ``fd`` is not a terminal)."""
    if sys.platform == "win32":
        yield False
    else:
        if not isatty(fd):
            yield False
            return
        saved = termios.tcgetattr(fd)
        tty.setraw(fd)
        try:
            yield True
        finally:
            # TCSADRAIN: what the container already printed is shown first.
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class FdReader:
    """Reads an fd we do not own (our stdin) on the event loop.

    Pipes, sockets and terminals are watched with ``add_reader``; regular
    files and ``/dev/null`` cannot be (epoll refuses them) but never block,
    so they are read directly."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        mode = os.fstat(fd).st_mode
        self._pollable = not stat.S_ISREG(mode)

    async def read(self) -> bytes:
        if not self._pollable:
            await asyncio.sleep(0)  # let other tasks run between chunks
            return os.read(self._fd, READ_SIZE)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(self._fd, wake)
        except (PermissionError, OSError):
            self._pollable = False  # e.g. /dev/null: epoll says EPERM
            return os.read(self._fd, READ_SIZE)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)
        try:
            return os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return await self.read()  # someone else took the data: wait again


async def write_all(fd: int, data: bytes) -> bool:
    """Write everything to our stdout/stderr. Returns False once the reader
    has gone (EPIPE): the caller keeps draining the process but stops
    writing, as ``cat`` would stop."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await asyncio.sleep(0.005)  # an fd someone made non-blocking
            continue
        except (BrokenPipeError, ConnectionResetError):
            return False
        view = view[written:]
    return True
