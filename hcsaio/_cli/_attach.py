"""Connecting our stdin/stdout/stderr to a process in a compute system.

Without a tty the process's stdout and stderr pipes are copied to ours, and
with ``-i`` our stdin to its stdin (EOF closes it). With ``-t`` HCS gives
the process a console (a pty in the emulator); with ``-i`` too our terminal
goes into raw mode so every keystroke, Ctrl-C included, reaches the
console, whose line discipline echoes and signals as a local one would. The
window size follows SIGWINCH.

Signals to hcsaio while attached: the first SIGINT is forwarded to the
process as ``CtrlC`` (SIGINT in Linux guests and the emulator) so it can
exit on its own terms; a second SIGINT, or SIGTERM/SIGHUP, kills it. The
exit status is the process's code when it exited by itself, else 128 + the
signal hcsaio got.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Final

from .. import PipeReader, PipeWriter, Process
from ..errors import HcsError
from . import _terminal
from ._interrupts import Interrupts, exit_status_for
from ._output import Output

#: How long output may keep arriving after the process exited (a background
#: child can hold the pipe open forever; its output is not waited for).
OUTPUT_GRACE: Final = 1.0
#: How long to wait for a killed process to be reported gone.
KILL_WAIT: Final = 10.0
#: End-of-transmission: what a terminal sends for Ctrl-D.
CTRL_D: Final = b"\x04"


@dataclass(frozen=True)
class AttachMode:
    tty: bool
    interactive: bool


async def _copy_output(reader: PipeReader, fd: int) -> None:
    writable = True
    while chunk := await reader.read(_terminal.READ_SIZE):
        if writable:
            writable = await _terminal.write_all(fd, chunk)


async def _copy_input(process: Process, writer: PipeWriter, tty: bool) -> None:
    source = _terminal.FdReader(_terminal.STDIN)
    try:
        while data := await source.read():
            writer.write(data)
            await writer.drain()
        if tty:
            writer.write(CTRL_D)  # EOF on our side: end the console's input too
            await writer.drain()
        else:
            await process.close_stdin()
    except (BrokenPipeError, ConnectionResetError, HcsError):
        pass  # the process closed its stdin or exited: nothing more to send


class _Session:
    def __init__(self, process: Process, out: Output) -> None:
        self.process = process
        self.out = out
        self.abort_signal: int | None = None
        self.aborted = asyncio.Event()
        self._forwarded_interrupt = False
        self.finished = False
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def on_signal(self, signum: int) -> None:
        if self.finished:
            return  # the process is gone: only its last output is being copied
        if signum == signal.SIGINT and not self._forwarded_interrupt:
            self._forwarded_interrupt = True
            self._spawn(self._forward_ctrl_c())
            if self.out.stderr.isatty():
                self.out.note("sent Ctrl-C to the process; Ctrl-C again kills it")
            return
        if self.abort_signal is None:
            self.abort_signal = signum
            self.aborted.set()

    async def _forward_ctrl_c(self) -> None:
        with contextlib.suppress(HcsError):
            await self.process.signal("CtrlC", timeout=10)

    def on_resize(self) -> None:
        size = _terminal.window_size()
        if size is not None:
            rows, columns = size
            self._spawn(self._resize(rows, columns))

    async def _resize(self, rows: int, columns: int) -> None:
        with contextlib.suppress(HcsError):
            await self.process.resize_console(width=columns, height=rows, timeout=10)

    async def cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


async def attach(
    process: Process,
    mode: AttachMode,
    interrupts: Interrupts,
    out: Output,
    *,
    timeout: float | None = None,
) -> int | None:
    """Copy stdio until the process exits; return the exit status to use, or
    None if ``timeout`` expired first (the process is killed then)."""
    session = _Session(process, out)
    sys.stdout.flush()
    sys.stderr.flush()
    pumps: list[asyncio.Task[None]] = []
    if process.stdout is not None:
        pumps.append(asyncio.create_task(_copy_output(process.stdout, _terminal.STDOUT)))
    if process.stderr is not None:
        pumps.append(asyncio.create_task(_copy_output(process.stderr, _terminal.STDERR)))
    feeder = None
    if mode.interactive and process.stdin is not None:
        feeder = asyncio.create_task(_copy_input(process, process.stdin, mode.tty))
    loop = asyncio.get_running_loop()
    watch_resize = mode.tty
    if sys.platform != "win32" and watch_resize:
        loop.add_signal_handler(signal.SIGWINCH, session.on_resize)
    interrupts.hook = session.on_signal
    exited = asyncio.create_task(process.wait())
    aborted = asyncio.create_task(session.aborted.wait())
    background: list[asyncio.Future[Any]] = [*pumps, aborted]
    if feeder is not None:
        background.append(feeder)
    try:
        with _terminal.raw_mode() if mode.tty and mode.interactive else contextlib.nullcontext():
            await asyncio.wait(
                {exited, aborted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            by_itself = exited.done()
            if not by_itself:
                await _kill(process, exited)
            session.finished = True
            if pumps:
                await asyncio.wait(pumps, timeout=OUTPUT_GRACE)
    finally:
        interrupts.hook = None
        if sys.platform != "win32" and watch_resize:
            loop.remove_signal_handler(signal.SIGWINCH)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await session.cancel_background()
        if not exited.done():
            exited.cancel()
            await asyncio.gather(exited, return_exceptions=True)
    if by_itself:
        return exited.result()
    if session.abort_signal is None:
        return None  # timed out
    # hcsaio killed it: the code it reports now is the kill's, not its own.
    return exit_status_for(session.abort_signal)


async def _kill(process: Process, exited: asyncio.Task[int]) -> None:
    process.kill()
    await asyncio.wait({exited}, timeout=KILL_WAIT)
