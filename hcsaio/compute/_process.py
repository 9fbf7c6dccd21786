"""Process: a process inside a compute system, shaped like asyncio.subprocess.

Exit is learned from the process's event callback (``HcsEventProcessExited``
with its ``ProcessStatus``), never by polling. ``wait`` returns once the
exit is known and the output already in the pipes has been moved into the
readers' buffers, so output written just before exit is never lost.

``kill``/``terminate``/``send_signal`` are synchronous like asyncio's: they
start the HCS call and return; the operation is closed when it completes.
``signal`` is the awaitable, error-reporting variant.
"""

from __future__ import annotations

import contextlib
import signal as signal_module
from typing import TYPE_CHECKING, Any, Final, final

import anyio

from .._core import _hcs_process as native_process
from .._core import _operation
from .._core._documents import parse
from .._core._handle import Deadline, hcs_deadline
from .._native.handles import Handle, ProcessInfo
from .._native.library import Library
from ..errors import AlreadyStopped, HcsError
from ..errors import ServiceDisconnected as ServiceDisconnectedError
from ..schema import encode, v2
from ._events import Event, ProcessExited, ServiceDisconnected
from ._owner import EventOwner
from ._stdio import READ_CHUNK, PipeReader, PipeWriter
from ._stdio_open import open_reader, open_writer

if TYPE_CHECKING:
    from ._system import Container

CTRL_SIGNALS: Final = frozenset({"CtrlC", "CtrlBreak", "CtrlClose", "CtrlLogOff", "CtrlShutdown"})
HCS_E_SERVICE_DISCONNECT: Final = 0x8037011E


def signal_options(sig: int | str | signal_module.Signals) -> str:
    """SignalProcessOptions JSON for an int (a Linux signal number, hcsshim's
    LCOW form) or one of the Windows console control names."""
    if isinstance(sig, bool):
        raise TypeError("signal must be an int, a signal.Signals or a Ctrl* name, not bool")
    if isinstance(sig, int):
        if not 1 <= int(sig) <= 64:
            raise ValueError(f"signal number must be within 1..64, got {int(sig)}")
        return encode({"Signal": int(sig)}).decode()
    if isinstance(sig, str):
        if sig not in CTRL_SIGNALS:
            raise ValueError(f"signal name must be one of {sorted(CTRL_SIGNALS)}, got {sig!r}")
        return encode({"Signal": sig}).decode()
    raise TypeError(
        f"signal must be an int, a signal.Signals or a Ctrl* name, not {type(sig).__name__}"
    )


@final
class Process(EventOwner):
    """A process in a compute system. Obtained from ``Container.create_process``,
    ``exec``, or ``open_process``; never constructed directly."""

    _kind = "process"
    _container: Container
    _pid: int | None
    _returncode: int | None
    _status: v2.ProcessStatus | None
    _disconnected: bool
    stdin: PipeWriter | None
    stdout: PipeReader | None
    stderr: PipeReader | None
    _input: bytes | None
    _input_offset: int
    _collected: dict[str, list[bytes]]

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "Process objects come from Container.create_process(), exec() or open_process()"
        )

    @classmethod
    def _new(cls, container: Container, library: Library) -> Process:
        self = object.__new__(cls)
        self._init_handle(library)
        self._container = container
        self._pid = None
        self._returncode = None
        self._status = None
        self._disconnected = False
        self.stdin = None
        self.stdout = None
        self.stderr = None
        self._input = None
        self._input_offset = 0
        self._collected = {"stdout": [], "stderr": []}
        return self

    def __repr__(self) -> str:
        state = "running" if self._returncode is None else f"returncode={self._returncode}"
        return f"<Process pid={self._pid} in {self._container.id!r} {state}>"

    def _target(self) -> dict[str, Any]:
        return {"id": self._container.id, "pid": self._pid}

    # ---- set-up (called by Container) ---------------------------------------

    def _register(self, handle: Handle) -> None:
        self._attach(
            handle,
            lambda token: native_process.set_callback(
                self._library.index, handle, token, 0, id=self._container.id, pid=self._pid or 0
            ),
        )

    def _started(self, info: ProcessInfo, *, merge_stderr: bool) -> None:
        self._pid = info.pid
        if info.stdin is not None:
            self.stdin = open_writer(info.stdin, name="stdin")
        if info.stdout is not None:
            self.stdout = open_reader(info.stdout, name="stdout")
        if info.stderr is not None:
            if merge_stderr and self.stdout is not None:
                self.stdout.add_source(info.stderr)
            else:
                self.stderr = open_reader(info.stderr, name="stderr")

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ProcessExited):
            self._status = event.status
            # hcsshim: the exit code is valid only when the wait succeeded.
            self._returncode = event.status.exit_code if event.status.last_wait_result == 0 else -1
            self._ended.set()
        elif isinstance(event, ServiceDisconnected):
            self._disconnected = True
            self._ended.set()
        super()._on_event(event)

    # ---- asyncio.subprocess.Process surface ---------------------------------

    @property
    def pid(self) -> int:
        assert self._pid is not None
        return self._pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while the process runs (or is not known to
        have exited)."""
        return self._returncode

    @property
    def container(self) -> Container:
        return self._container

    async def wait(self, *, timeout: float | None = None) -> int:
        """Wait for exit and return the exit code. If another task closes the
        process before the exit is known, raises
        :class:`~hcsaio.errors.HandleClosed`."""
        _operation._validate_timeout(timeout)
        if not self._ended.is_set():
            # Inline rather than _wait_ended(): with 10,000 waits pending, a
            # coroutine frame more per wait shows in the memory per wait.
            with hcs_deadline(
                timeout,
                "process exit",
                id=self._container.id,
                pid=self._pid,
                note="the process keeps running",
            ):
                await self._ended.wait()
        self._drain_pipes()
        return self._exit_code("wait for process exit")

    def _exit_code(self, operation: str) -> int:
        if self._returncode is None and self._closed:
            raise self._closed_error(operation)
        if self._returncode is None:
            raise ServiceDisconnectedError(
                HCS_E_SERVICE_DISCONNECT,
                "wait for process exit",
                message="the HCS service disconnected before the process exit was reported",
                id=self._container.id,
                pid=self._pid,
            )
        return self._returncode

    def _drain_pipes(self) -> None:
        for reader in (self.stdout, self.stderr):
            if reader is not None:
                reader.drain_available()

    async def communicate(
        self, input: bytes | None = None, *, timeout: float | None = None
    ) -> tuple[bytes | None, bytes | None]:
        """Send ``input`` to stdin (then close it), read stdout and stderr to
        EOF, wait for exit; returns ``(stdout, stderr)`` (None for streams
        without a pipe). Reading and writing run concurrently, so large data
        in both directions cannot deadlock.

        On timeout (``HcsTimeoutError``) or cancellation nothing is lost: the
        output read so far is kept and a later call returns it with the rest,
        and the input already sent is not sent again (as
        ``subprocess.Popen.communicate``).
        """
        _operation._validate_timeout(timeout)
        if input is not None and self._input is None:
            if self.stdin is None:
                raise ValueError("input given, but the process has no stdin pipe (stdin=PIPE)")
            self._input = bytes(input)
        if self._closed:
            raise self._closed_error("communicate")
        note = "the process keeps running; what was read so far is kept for the next call"
        try:
            with hcs_deadline(
                timeout, "communicate", id=self._container.id, pid=self._pid, note=note
            ):
                async with anyio.create_task_group() as tg:
                    if self.stdin is not None and not self.stdin.is_closing():
                        tg.start_soon(self._feed_stdin)
                    for name in ("stdout", "stderr"):
                        reader = getattr(self, name)
                        if reader is not None:
                            tg.start_soon(self._collect, reader, self._collected[name])
                await self._ended.wait()
        except Exception:
            # close() from another task closes the pipes under the readers.
            if self._closed:
                raise self._closed_error("communicate") from None
            raise
        self._exit_code("communicate")  # raises if closed or the service went away
        out = b"".join(self._collected["stdout"]) if self.stdout is not None else None
        err = b"".join(self._collected["stderr"]) if self.stderr is not None else None
        self._collected = {"stdout": [], "stderr": []}
        return out, err

    async def _feed_stdin(self) -> None:
        assert self.stdin is not None
        data = self._input or b""
        try:
            while self._input_offset < len(data):
                chunk = data[self._input_offset : self._input_offset + READ_CHUNK]
                self.stdin.write(chunk)
                self._input_offset += len(chunk)
                await self.stdin.drain()
            self.stdin.close()
            await self.stdin.wait_closed()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process stopped reading: like subprocess, not an error

    @staticmethod
    async def _collect(reader: PipeReader, into: list[bytes]) -> None:
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                return
            into.append(chunk)

    # ---- signals ------------------------------------------------------------

    def _signal_now(self, name: str, argument: str | None) -> None:
        """Start a signal or terminate without waiting for it. close() still
        waits for it (HcsCloseProcess never overtakes it); its completion
        closes the operation."""
        if self._returncode is not None:
            return  # already exited: nothing to signal, as asyncio
        library = self._library.index
        self._fire(
            name,
            lambda h, op: native_process.call(
                name, library, h, op, argument, id=self._container.id, pid=self.pid
            ),
            tolerate=AlreadyStopped,
        )

    def kill(self) -> None:
        """Terminate the process at once (HcsTerminateProcess)."""
        self._signal_now("HcsTerminateProcess", None)

    def terminate(self) -> None:
        """Ask the process to stop (CtrlShutdown; SIGTERM in the emulator)."""
        self._signal_now("HcsSignalProcess", signal_options("CtrlShutdown"))

    def send_signal(self, sig: int | str | signal_module.Signals) -> None:
        """Send a signal: a number (Linux guests, the emulator) or a console
        control name (``"CtrlC"``, ``"CtrlBreak"``, ``"CtrlClose"``,
        ``"CtrlLogOff"``, ``"CtrlShutdown"``)."""
        self._signal_now("HcsSignalProcess", signal_options(sig))

    async def signal(
        self, sig: int | str | signal_module.Signals, *, timeout: float | None = None
    ) -> None:
        """Like :meth:`send_signal`, but waits for HCS and raises its error."""
        options = signal_options(sig)
        await self._run(
            "HcsSignalProcess",
            lambda h, op: native_process.call(
                "HcsSignalProcess",
                self._library.index,
                h,
                op,
                options,
                id=self._container.id,
                pid=self.pid,
            ),
            timeout=timeout,
        )

    # ---- console, stdin, properties ------------------------------------------

    async def _modify(self, request: dict[str, Any], timeout: float | None) -> None:
        settings = encode(request).decode()
        await self._run(
            "HcsModifyProcess",
            lambda h, op: native_process.call(
                "HcsModifyProcess",
                self._library.index,
                h,
                op,
                settings,
                id=self._container.id,
                pid=self.pid,
            ),
            timeout=timeout,
        )

    async def resize_console(
        self, width: int, height: int, *, timeout: float | None = None
    ) -> None:
        """Resize the console of a process created with a tty."""
        for what, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{what} must be an int, not {type(value).__name__}")
            if not 1 <= value <= 0xFFFF:
                raise ValueError(f"{what} must be within 1..65535, got {value}")
        await self._modify(
            {"Operation": "ConsoleSize", "ConsoleSize": {"Height": height, "Width": width}}, timeout
        )

    async def close_stdin(self, *, timeout: float | None = None) -> None:
        """Flush and close stdin so the process reads EOF, and tell HCS to
        close its end of the handle too. ``timeout`` bounds both steps; if
        the process does not read what is still queued in time, the rest is
        written in the background (and the pipe closed after it)."""
        deadline = Deadline(timeout)
        if self.stdin is not None:
            self.stdin.close()
            with hcs_deadline(
                deadline.remaining(),
                "stdin to be flushed",
                id=self._container.id,
                pid=self._pid,
                note="the process has not read all of it; the rest is written in the background",
            ):
                await self.stdin.wait_closed()
        if self._returncode is None:
            with contextlib.suppress(AlreadyStopped):
                await self._modify(
                    {"Operation": "CloseHandle", "CloseHandle": {"Handle": "StdIn"}},
                    deadline.remaining(),
                )

    async def properties(self, *, timeout: float | None = None) -> v2.ProcessStatus:
        """The process's ProcessStatus (HcsGetProcessProperties)."""
        done = await self._run(
            "HcsGetProcessProperties",
            lambda h, op: native_process.call(
                "HcsGetProcessProperties",
                self._library.index,
                h,
                op,
                None,
                id=self._container.id,
                pid=self.pid,
            ),
            timeout=timeout,
        )
        return parse(done.document, v2.ProcessStatus, "process status")

    # ---- lifetime -------------------------------------------------------------

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the HCS handle and our ends of the pipes (output already
        buffered stays readable). The process itself keeps running.

        Operations in flight (``kill()``'s included) are waited for first, up
        to ``timeout`` seconds; on expiry (or cancellation) they are handed
        over (callers awaiting one get :class:`~hcsaio.errors.HandleClosed`)
        and the handle is closed anyway. Tasks blocked in :meth:`wait` or
        :meth:`communicate` get ``HandleClosed`` unless the exit was already
        known; so does any later call. Closing twice is harmless."""
        try:
            await self._close(native_process.close, timeout)
        finally:
            for stream in (self.stdout, self.stderr):
                if stream is not None:
                    stream.close()
            if self.stdin is not None:
                self.stdin.close()  # queued input is still flushed, in the background

    async def __aenter__(self) -> Process:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _recover_process_info(
    process: Process, handle: Handle, timeout: float | None
) -> ProcessInfo:
    """hcsshim's WS2022 workaround (reference gotcha 9): HcsCreateProcess may
    report a spurious failure while returning a valid process; ask for the
    process information instead."""
    library = process._library
    done = await _operation.run(
        library,
        "HcsGetProcessInfo",
        lambda op: native_process.get_info(
            library.index, handle, op, id=process._container.id, pid=0
        ),
        timeout=timeout,
        id=process._container.id,
        check=True,
    )
    if done.process_info is None:
        raise HcsError(0x8037011D, "HcsGetProcessInfo", id=process._container.id)
    return done.process_info


__all__ = ["Process", "signal_options"]
