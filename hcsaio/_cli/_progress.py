"""Progress for waits longer than a second (layer preparation, shutdowns).

A waiter thread, not an asyncio task, so the same context manager covers
blocking work (building a base layer) and awaits alike, and a busy event
loop cannot delay it. Nothing is shown for waits under ``delay``. On a
terminal a spinner with the elapsed time is redrawn in place and erased at
the end; elsewhere (logs, CI) one line says what is being waited for and
another how long it took.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Final, TextIO

_FRAMES: Final = "|/-\\"
DELAY: Final = 1.0
_REDRAW: Final = 0.1


class Progress:
    def __init__(self, message: str, stream: TextIO, *, prog: str = "hcsaio") -> None:
        self.message = message
        self._stream = stream
        self._prog = prog
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False
        self._started = 0.0
        try:
            self._terminal = stream.isatty()
        except (AttributeError, ValueError):
            self._terminal = False

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._show, name="hcsaio-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if not self._shown:
            return
        elapsed = time.monotonic() - self._started
        if self._terminal:
            self._write("\r\x1b[K")
        else:
            outcome = "done" if kind is None else "failed"
            self._write(f"{self._prog}: {self.message}: {outcome} after {elapsed:.1f}s\n")

    def _show(self) -> None:
        if self._done.wait(DELAY):
            return
        self._shown = True
        if not self._terminal:
            self._write(f"{self._prog}: {self.message}...\n")
            return
        frame = 0
        while not self._done.is_set():
            elapsed = time.monotonic() - self._started
            self._write(f"\r\x1b[K{_FRAMES[frame % len(_FRAMES)]} {self.message}... {elapsed:.0f}s")
            frame += 1
            self._done.wait(_REDRAW)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not turn progress into a failure
