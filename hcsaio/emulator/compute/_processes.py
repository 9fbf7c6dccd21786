"""A process of a compute system, as HCS tracks it (service side)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

from ..runtimes._runtime import SpawnedProcess
from ..runtimes._stdio import set_console_size
from ._handles import EVENT_PROCESS_EXITED, Subscribers
from ._hresults import (
    E_INVALIDARG,
    HCS_E_PROCESS_ALREADY_STOPPED,
    HcsFailure,
)

# SignalProcessOptions.Signal names (Windows console control events).
CONTROL_SIGNALS = {
    "CtrlC": signal.SIGINT,
    "CtrlBreak": signal.SIGQUIT,
    "CtrlClose": signal.SIGTERM,
    "CtrlLogOff": signal.SIGTERM,
    "CtrlShutdown": signal.SIGTERM,
}


class HcsProcess:
    """Created when CreateProcess arrives, so the client's process handle
    can be bound at once; ``ready`` resolves when the spawn has finished
    (with the failure, if it failed)."""

    def __init__(self, on_release: Callable[[HcsProcess], None]) -> None:
        self.pid = 0
        self.subscribers = Subscribers()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.exited = asyncio.Event()
        self.exit_code: int | None = None
        self._spawned: SpawnedProcess | None = None
        self._console: int | None = None
        self._on_release = on_release  # may forget it once exited and unreferenced
        self._watch: asyncio.Task[None] | None = None

    def attach(self, spawned: SpawnedProcess, console: int | None) -> None:
        self.pid = spawned.pid
        self._spawned = spawned
        self._console = console
        self._watch = asyncio.create_task(self._watch_exit(spawned))
        self.ready.set_result(None)

    def fail(self, failure: HcsFailure) -> None:
        self.ready.set_exception(failure)
        self.ready.exception()  # retrieved: nobody may ever await it

    async def _watch_exit(self, spawned: SpawnedProcess) -> None:
        self.exit_code = await spawned.wait()
        self.close_console()
        self.exited.set()
        self.subscribers.emit(EVENT_PROCESS_EXITED, self.status())
        self.release()

    def release(self) -> None:
        """Called after the exit and after each handle closes."""
        self._on_release(self)

    def status(self) -> dict[str, object]:
        """ProcessStatus (reference §4.4)."""
        doc: dict[str, object] = {"ProcessId": self.pid, "Exited": self.exited.is_set()}
        if self.exit_code is not None:
            doc["ExitCode"] = self.exit_code & 0xFFFFFFFF
        doc["LastWaitResult"] = 0
        return doc

    @property
    def running(self) -> bool:
        return self._spawned is not None and not self.exited.is_set()

    def _require_running(self) -> SpawnedProcess:
        if self._spawned is None or self.exited.is_set():
            raise HcsFailure(
                HCS_E_PROCESS_ALREADY_STOPPED, f"The process {self.pid} has already exited."
            )
        return self._spawned

    def signal(self, signum: int) -> None:
        self._require_running().signal(signum)

    def resize_console(self, height: int, width: int) -> None:
        self._require_running()
        if self._console is None:
            raise HcsFailure(E_INVALIDARG, f"The process {self.pid} has no console to resize.")
        set_console_size(self._console, height, width)

    def close_console(self) -> None:
        if self._console is not None:
            with contextlib.suppress(OSError):
                os.close(self._console)
            self._console = None
