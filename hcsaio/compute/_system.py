"""Container: a compute system handle, and the module-level entry points.

Mirrors hcsshim's ``System`` (internal/hcs/system.go) over the v2 API:
every method is one HCS operation run under the cancellation contract
(``_operation``), with the exit learned from the system's event callback.
Shutting down or terminating a stopped system is not an error, as in
hcsshim. A ``Container`` belongs to the event loop that created it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final, final

import anyio

from .._core import _hcs_process as native_process
from .._core import _hcs_system as native_system
from .._core import _operation, _sync
from .._core._backend import connected_library, library
from .._core._documents import compact, json_object, optional_json, parse, to_json
from .._core._handle import Deadline
from .._core._ids import check_id
from .._native.handles import Handle, ProcessInfo
from .._native.library import Library
from ..errors import HcsError, InvalidArgument
from ..errors import ServiceDisconnected as ServiceDisconnectedError
from ..schema import v1, v2
from ._events import Event, ServiceDisconnected, SystemExited
from ._owner import EventOwner
from ._process import Process, _recover_process_info
from ._run import CompletedProcess, exec_process, run_process

HCS_E_SERVICE_DISCONNECT: Final = 0x8037011E
#: Errors hcsshim ignores from Shutdown/Terminate: the system is already
#: stopped (or already gone), or v1's "operation pending".
_STOPPED_CODES: Final = frozenset({0x80370110, 0xC0370110, 0x8037010E, 0xC037010E, 0xC0370103})
#: How long ``async with`` waits for terminate when asked to terminate on exit.
EXIT_TERMINATE_TIMEOUT: Final = 30.0
#: How long undoing a half-made system or process waits for its terminate.
UNDO_TIMEOUT: Final = 30.0

PropertyQueryLike = (
    v2.PropertyQuery | Mapping[str, Any] | str | Sequence[str | v2.PropertyType] | None
)


def _options_json(options: Mapping[str, Any] | str | None, what: str) -> str | None:
    """Options documents that hcsshim's schema has no struct for (shutdown, crash)."""
    return None if options is None else compact(json_object(options, what))


def _property_query(query: PropertyQueryLike) -> str | None:
    if query is None:
        return None
    if isinstance(query, Sequence) and not isinstance(query, str | bytes):
        types = [v2.PropertyType(t) if not isinstance(t, v2.PropertyType) else t for t in query]
        query = v2.PropertyQuery(property_types=types)
    return to_json(query, v2.PropertyQuery, "property query")


@final
class Container(EventOwner):
    """A compute system (in practice, a container). Obtained from
    :func:`create_compute_system` or :func:`open_compute_system`; never
    constructed directly. ``async with`` closes the handle (and terminates
    the system first if ``terminate_on_exit`` is set)."""

    _kind = "compute system"
    _id: str
    #: Terminate the system when ``async with`` exits (set by create/open).
    terminate_on_exit: bool
    _exit_status: v2.SystemExitStatus | None
    _disconnected: bool

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "Container objects come from create_compute_system() or open_compute_system()"
        )

    @classmethod
    def _new(cls, library: Library, id: str, terminate_on_exit: bool) -> Container:
        self = object.__new__(cls)
        self._init_handle(library)
        self._id = id
        self.terminate_on_exit = terminate_on_exit
        self._exit_status = None
        self._disconnected = False
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("exited" if self._exit_status else "open")
        return f"<Container {self._id!r} {state}>"

    def _target(self) -> dict[str, Any]:
        return {"id": self._id}

    @property
    def id(self) -> str:
        return self._id

    # ---- handle & events --------------------------------------------------------

    def _register(self, handle: Handle) -> None:
        self._attach(
            handle,
            lambda token: native_system.set_callback(
                self._library.index, handle, token, 0, id=self._id
            ),
        )

    def _on_event(self, event: Event) -> None:
        if isinstance(event, SystemExited):
            self._exit_status = event.status
            self._ended.set()
        elif isinstance(event, ServiceDisconnected):
            self._disconnected = True
            self._ended.set()
        super()._on_event(event)

    def events(self) -> AsyncIterator[Event]:
        """Events of this compute system from now on: ``SystemExited``,
        ``CrashInitiated``, ``CrashReport``, ``GuestConnectionClosed``,
        ``ServiceDisconnected`` ... The iteration ends after the exit (or a
        service disconnect) or when the handle is closed."""
        return super().events()

    # ---- operations -----------------------------------------------------------

    async def _simple(
        self, name: str, argument: str | None, timeout: float | None, *, checked: bool = True
    ) -> _operation.Completed[None]:
        return await self._run(
            name,
            lambda h, op: native_system.call(
                name, self._library.index, h, op, argument, id=self._id
            ),
            timeout=timeout,
            checked=checked,
        )

    async def start(self, *, timeout: float | None = None) -> None:
        """Start the compute system (HcsStartComputeSystem)."""
        await self._simple("HcsStartComputeSystem", None, timeout)

    async def _stop(self, name: str, options: str | None, timeout: float | None) -> None:
        deadline = Deadline(timeout)
        done = await self._simple(name, options, deadline.remaining(), checked=False)
        if done.hresult < 0 and (done.hresult & 0xFFFFFFFF) not in _STOPPED_CODES:
            from .._core._result import raise_for

            raise_for(done.hresult, name, done.document, id=self._id)
        if done.hresult >= 0:
            # The operation succeeded: the exit event follows (or came first).
            await self._wait_ended(
                deadline.remaining(),
                f"compute system exit after {name}",
                "HCS accepted the request; the compute system has not reported its exit yet",
            )
            if self._exit_status is None and self._closed:
                raise self._closed_error(name)

    async def shutdown(
        self, options: Mapping[str, Any] | str | None = None, *, timeout: float | None = None
    ) -> None:
        """Shut the system down gracefully (HcsShutDownComputeSystem) and wait
        until it has exited. Already stopped is not an error. ``options`` is a
        ShutdownOptions document (``{"Mechanism": ..., "Type": ..., "Force": ...}``)."""
        await self._stop(
            "HcsShutDownComputeSystem", _options_json(options, "shutdown options"), timeout
        )

    async def terminate(self, *, timeout: float | None = None) -> None:
        """Stop the system at once (HcsTerminateComputeSystem) and wait until it
        has exited. Already stopped is not an error."""
        await self._stop("HcsTerminateComputeSystem", None, timeout)

    async def pause(
        self,
        options: v2.PauseOptions | Mapping[str, Any] | str | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        await self._simple(
            "HcsPauseComputeSystem",
            optional_json(options, v2.PauseOptions, "pause options"),
            timeout,
        )

    async def resume(self, *, timeout: float | None = None) -> None:
        await self._simple("HcsResumeComputeSystem", None, timeout)

    async def save(
        self, options: v2.SaveOptions | Mapping[str, Any] | str, *, timeout: float | None = None
    ) -> None:
        """Save the system's state (HcsSaveComputeSystem; VMs only on Windows)."""
        await self._simple(
            "HcsSaveComputeSystem", to_json(options, v2.SaveOptions, "save options"), timeout
        )

    async def crash(
        self, options: Mapping[str, Any] | str | None = None, *, timeout: float | None = None
    ) -> None:
        """Crash the guest on purpose (HcsCrashComputeSystem; ``{"Type": "CrashGuest"}``)."""
        await self._simple(
            "HcsCrashComputeSystem", _options_json(options, "crash options"), timeout
        )

    async def properties(
        self, query: PropertyQueryLike = None, *, timeout: float | None = None
    ) -> v2.Properties:
        """Properties of the system. ``query`` is a PropertyQuery (struct, dict,
        JSON) or simply a list of property types such as ``["Statistics"]``."""
        argument = _property_query(query)
        done = await self._simple("HcsGetComputeSystemProperties", argument, timeout)
        return parse(done.document, v2.Properties, "properties")

    async def statistics(self, *, timeout: float | None = None) -> v2.Statistics:
        props = await self.properties([v2.PropertyType.STATISTICS], timeout=timeout)
        return props.statistics or v2.Statistics()

    async def process_list(self, *, timeout: float | None = None) -> list[v2.ProcessDetails]:
        props = await self.properties([v2.PropertyType.PROCESS_LIST], timeout=timeout)
        return list(props.process_list or [])

    async def modify(
        self,
        request: v2.ModifySettingRequest | Mapping[str, Any] | str,
        *,
        timeout: float | None = None,
    ) -> None:
        """Change a resource of the running system (HcsModifyComputeSystem)."""
        settings = to_json(request, v2.ModifySettingRequest, "modify request")
        await self._run(
            "HcsModifyComputeSystem",
            lambda h, op: native_system.modify(self._library.index, h, op, settings, id=self._id),
            timeout=timeout,
        )

    async def wait(self, *, timeout: float | None = None) -> v2.SystemExitStatus:
        """Wait until the system has exited; returns its exit status."""
        _operation._validate_timeout(timeout)
        await self._wait_ended(timeout, "compute system exit", "the compute system keeps running")
        if self._exit_status is None and self._closed:
            raise self._closed_error("wait for compute system exit")
        if self._exit_status is None:
            raise ServiceDisconnectedError(
                HCS_E_SERVICE_DISCONNECT,
                "wait for compute system exit",
                message="the HCS service disconnected before the exit was reported",
                id=self._id,
            )
        return self._exit_status

    # ---- processes ------------------------------------------------------------

    async def create_process(
        self,
        parameters: v2.ProcessParameters | Mapping[str, Any] | str,
        *,
        timeout: float | None = None,
        merge_stderr: bool = False,
    ) -> Process:
        """Start a process (HcsCreateProcess) from a ProcessParameters
        document. Pipes requested in it become ``stdin``/``stdout``/``stderr``."""
        document = to_json(parameters, v2.ProcessParameters, "process parameters")
        process = Process._new(self, self._library)
        registration: list[BaseException] = []

        def start(handle: Handle, op: Handle) -> Handle:
            created = native_process.create(self._library.index, handle, document, op, id=self._id)
            # HCS accepted the call: raising now would close an operation it
            # still runs. A failed registration waits for the completion.
            try:
                process._register(created)
            except BaseException as exc:
                registration.append(exc)
            return created

        def cleanup(created: Handle) -> None:
            process._release(native_process.close)

        deadline = Deadline(timeout)
        try:
            done = await self._run(
                "HcsCreateProcess", start, timeout=deadline.remaining(), on_error=cleanup
            )
            info = done.process_info
        except InvalidArgument:
            # hcsshim's WS2022 workaround: a spurious failure with a live process.
            if process._handle is None:
                raise
            try:
                info = await _recover_process_info(process, process._handle, deadline.remaining())
            except BaseException:
                process._release(native_process.close)
                raise
        if info is None:
            process._release(native_process.close)
            raise HcsError(
                0x8037011D,
                "HcsCreateProcess",
                id=self._id,
                message="no process information returned",
            )
        if registration:
            # No callback, so no exit event would ever come: do as hcsshim
            # does, terminate the new process and close all of it.
            process._pid = info.pid
            await _undo_process(process, info)
            raise registration[0]
        process._started(info, merge_stderr=merge_stderr)
        return process

    async def exec(
        self,
        *argv: str,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        tty: bool = False,
        console_size: tuple[int, int] | os.terminal_size | None = None,
        timeout: float | None = None,
    ) -> Process:
        """Start ``argv`` in the system, like ``asyncio.create_subprocess_exec``.

        Args:
            argv: the program and its arguments (passed as is, no shell).
            stdin, stdout: ``PIPE`` for a pipe (``process.stdin``/``stdout``),
                ``DEVNULL`` or ``None`` for none (there is no parent console
                to inherit: the process gets the null device).
            stderr: as ``stdout``, or ``STDOUT`` to read it merged into stdout.
            env: environment variables, over the system's default ``PATH``.
            cwd: working directory inside the system.
            user: user to run as (a name, a uid, ``name:group`` or ``uid:gid``).
            tty: give the process a console (stderr then arrives on stdout).
            console_size: ``(height, width)`` of that console (or an
                ``os.terminal_size``).
            timeout: seconds to wait for HCS to create the process.
        """
        return await exec_process(
            self,
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            user=user,
            tty=tty,
            console_size=console_size,
            timeout=timeout,
        )

    async def run(
        self,
        *argv: str,
        input: bytes | None = None,
        capture_output: bool = False,
        check: bool = False,
        timeout: float | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        tty: bool = False,
        console_size: tuple[int, int] | os.terminal_size | None = None,
    ) -> CompletedProcess:
        """Run ``argv`` to completion, like ``subprocess.run``.

        Args:
            argv: the program and its arguments (passed as is, no shell).
            input: bytes written to stdin, which is then closed (implies a
                stdin pipe; do not also pass ``stdin``).
            capture_output: capture stdout and stderr (``stdout=stderr=PIPE``).
            check: raise :class:`~hcsaio.ProcessExitError` on a non-zero exit.
            timeout: seconds for the whole run (creation, I/O, exit); on
                expiry the process is killed and ``HcsTimeoutError`` raised.
            stdin, stdout, stderr, env, cwd, user, tty, console_size: as
                for :meth:`exec`.
        """
        return await run_process(
            self,
            argv,
            input=input,
            capture_output=capture_output,
            check=check,
            timeout=timeout,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            user=user,
            tty=tty,
            console_size=console_size,
        )

    async def open_process(self, pid: int, *, timeout: float | None = None) -> Process:
        """Open a process of this system by pid (HcsOpenProcess). The open
        runs on the bridge's workers, off the event loop; ``timeout`` bounds
        it and the status query that follows."""
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 <= pid <= 0xFFFFFFFF:
            raise ValueError(f"pid must be an int within 0..4294967295, got {pid!r}")
        deadline = Deadline(timeout)
        handle = self._require_open("HcsOpenProcess")
        # The worker uses the system handle: close() waits for the open, as
        # for an operation (a timed-out open is the worker's to finish).
        self._inflight += 1
        try:
            outcome = await _sync.call(
                self._library,
                "HcsOpenProcess",
                (handle, pid, native_system.GENERIC_ALL),
                timeout=deadline.remaining(),
                id=self._id,
                pid=pid,
            )
        finally:
            self._inflight -= 1
            if self._inflight == 0 and self._idle is not None:
                self._idle.set()
        _sync.check(outcome, "HcsOpenProcess", id=self._id, pid=pid)
        (process_handle,) = outcome.values
        process = Process._new(self, self._library)
        process._pid = pid
        try:
            process._register(process_handle)
            status = await process.properties(timeout=deadline.remaining())
        except BaseException:
            process._release(native_process.close)
            raise
        if status.exited:
            # It exited before our callback existed: no event will come.
            process._on_event(_synthetic_exit(status))
        return process

    # ---- lifetime ---------------------------------------------------------------

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the handle (HcsCloseComputeSystem). The system keeps running
        unless its document set ShouldTerminateOnLastHandleClosed.

        Operations in flight on this handle are waited for first, up to
        ``timeout`` seconds; on expiry (or cancellation) they are cancelled
        and their callers get :class:`~hcsaio.errors.HandleClosed`, and the
        handle is closed anyway. Tasks blocked in :meth:`wait` get
        ``HandleClosed`` too (unless the exit was already known), and so does
        any later call. Closing twice is harmless."""
        await self._close(native_system.close, timeout)

    async def __aenter__(self) -> Container:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.terminate_on_exit and not self.closed and not self._ended.is_set():
                with anyio.CancelScope(shield=True):
                    await self.terminate(timeout=EXIT_TERMINATE_TIMEOUT)
        finally:
            await self.close()


async def _undo_process(process: Process, info: ProcessInfo) -> None:
    """Terminate a process created without its callback and close its handle
    and pipes (whatever the terminate's outcome)."""
    try:
        with contextlib.suppress(HcsError):
            await process._run(
                "HcsTerminateProcess",
                lambda h, op: native_process.call(
                    "HcsTerminateProcess",
                    process._library.index,
                    h,
                    op,
                    None,
                    id=process._container.id,
                    pid=info.pid,
                ),
                timeout=UNDO_TIMEOUT,
                checked=False,
            )
    finally:
        _operation._close_pipes(info)
        process._release(native_process.close)


def _synthetic_exit(status: v2.ProcessStatus) -> Event:
    from ._events import PROCESS_EXITED, ProcessExited

    return ProcessExited(PROCESS_EXITED, None, status)


# ---- module-level entry points -----------------------------------------------


async def create_compute_system(
    id: str,
    document: v2.ComputeSystem | Mapping[str, Any] | str,
    *,
    timeout: float | None = None,
    terminate_on_exit: bool = False,
) -> Container:
    """Create a compute system (HcsCreateComputeSystem). ``document`` is a
    ``v2.ComputeSystem``, a dict with wire names, or JSON text; it is
    validated before HCS sees it. The system is created, not started."""
    check_id(id)
    configuration = to_json(document, v2.ComputeSystem, "compute system document")
    deadline = Deadline(timeout)
    # Connect off the loop first: HcsCreateComputeSystem would do it inline.
    lib = await connected_library(deadline.remaining())
    container = Container._new(lib, id, terminate_on_exit)
    registration: list[BaseException] = []

    def start(op: Handle) -> Handle:
        handle = native_system.create(lib.index, id, configuration, op)
        # HCS accepted the call: raising now would close an operation it
        # still runs (and leak the handle). A failed registration waits for
        # the completion instead.
        try:
            container._register(handle)
        except BaseException as exc:
            registration.append(exc)
        return handle

    await _operation.run(
        lib,
        "HcsCreateComputeSystem",
        start,
        timeout=deadline.remaining(),
        id=id,
        on_error=lambda _: container._release(native_system.close),
        check=True,
    )
    if registration:
        # A system whose events nobody hears: terminate and close it, as
        # hcsshim does, so neither the system nor the handle is left behind.
        try:
            with contextlib.suppress(HcsError):
                await container._simple(
                    "HcsTerminateComputeSystem", None, UNDO_TIMEOUT, checked=False
                )
        finally:
            container._release(native_system.close)
        raise registration[0]
    return container


async def open_compute_system(
    id: str, *, timeout: float | None = None, terminate_on_exit: bool = False
) -> Container:
    """Open an existing compute system by id (HcsOpenComputeSystem). The open
    runs on the bridge's workers, off the event loop; ``timeout`` bounds it
    and the properties query that follows."""
    check_id(id)
    deadline = Deadline(timeout)
    lib = await library()
    outcome = await _sync.call(
        lib,
        "HcsOpenComputeSystem",
        (id, native_system.GENERIC_ALL),
        timeout=deadline.remaining(),
        id=id,
    )
    _sync.check(outcome, "HcsOpenComputeSystem", id=id)
    (handle,) = outcome.values
    container = Container._new(lib, id, terminate_on_exit)
    try:
        container._register(handle)
        props = await container.properties(timeout=deadline.remaining())
    except BaseException:
        container._release(native_system.close)
        raise
    if props.stopped or props.state == "Stopped":
        # Already exited: the callback registered above will never see it.
        status = v2.SystemExitStatus(status=0, exit_type=props.exit_type or "Unknown")
        container._on_event(SystemExited(0x00000001, None, status))
    return container


async def enumerate_compute_systems(
    query: v1.ComputeSystemQuery | Mapping[str, Any] | str | None = None,
    *,
    ids: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    types: Sequence[str] | None = None,
    owners: Sequence[str] | None = None,
    timeout: float | None = None,
) -> list[v2.Properties]:
    """Compute systems matching a query (hcsshim's ``GetContainers``): pass a
    ComputeSystemQuery, or filter by ``ids``/``names``/``types``/``owners``."""
    if query is not None and any(x is not None for x in (ids, names, types, owners)):
        raise ValueError("pass either query or the ids/names/types/owners filters, not both")
    if query is None and any(x is not None for x in (ids, names, types, owners)):
        for what, values in (("ids", ids), ("names", names), ("types", types), ("owners", owners)):
            if isinstance(values, str):
                raise TypeError(f"{what} must be a list of strings, not a single string")
        query = v1.ComputeSystemQuery(
            ids=list(ids) if ids else None,
            names=list(names) if names else None,
            types=list(types) if types else None,
            owners=list(owners) if owners else None,
        )
    argument = optional_json(query, v1.ComputeSystemQuery, "compute system query")
    deadline = Deadline(timeout)
    # Connect off the loop first: HcsEnumerateComputeSystems would do it inline.
    lib = await connected_library(deadline.remaining())
    done = await _operation.run(
        lib,
        "HcsEnumerateComputeSystems",
        lambda op: native_system.enumerate(lib.index, argument, op),
        timeout=deadline.remaining(),
        check=True,
    )
    if not done.document:
        return []
    from ..schema import decode

    return decode(done.document, list[v2.Properties])


__all__ = [
    "Container",
    "create_compute_system",
    "enumerate_compute_systems",
    "open_compute_system",
]
