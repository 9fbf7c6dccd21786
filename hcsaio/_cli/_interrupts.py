"""Ctrl-C, SIGTERM and SIGHUP while a command runs.

By default the first of them cancels the command's task, so its
``finally`` blocks clean up (``run --rm`` terminates its container, for
one), and the command exits with 128 + the signal number like a shell's
child would. While a process is attached, ``hook`` takes the signal
instead (``_attach`` forwards the first Ctrl-C to the process). Signals
arriving during the cleanup are ignored: every cleanup step has a timeout,
and a second Ctrl-C must not leave a container behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator

HANDLED: tuple[signal.Signals, ...]
if sys.platform == "win32":
    HANDLED = (signal.SIGINT,)
else:
    HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupts:
    def __init__(self, task: asyncio.Task[object]) -> None:
        self._task = task
        #: The signal that cancelled the command, if one did.
        self.signum: int | None = None
        #: Takes signals instead of the default (set while a process is attached).
        self.hook: Callable[[int], None] | None = None
        #: A signal that arrived during deferred cleanup.
        self.late_signal: int | None = None

    def received(self, signum: int) -> None:
        if self.hook is not None:
            self.hook(signum)
            return
        if self.signum is None:
            self.signum = signum
            self._task.cancel()

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Cleanup that must finish (terminating an ``--rm`` container): a
        signal now is remembered, not acted on, and the command's exit
        status does not change (the cleanup is bounded by timeouts)."""
        previous, self.hook = self.hook, self._remember
        try:
            yield
        finally:
            self.hook = previous

    def _remember(self, signum: int) -> None:
        self.late_signal = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        loop = asyncio.get_running_loop()
        saved = {sig: signal.getsignal(sig) for sig in HANDLED}
        installed = []
        try:
            for sig in HANDLED:
                try:
                    loop.add_signal_handler(sig, self.received, int(sig))
                except (NotImplementedError, RuntimeError, ValueError):
                    continue  # not the main thread, or a loop without signal support
                installed.append(sig)
            yield self
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
                previous = saved[sig]
                if previous is not None:
                    signal.signal(sig, previous)


def exit_status_for(signum: int) -> int:
    """What a shell reports for a command killed by ``signum``."""
    return 128 + signum
