"""A compute system and its HCS state machine (service side).

States: Created -> Running <-> Paused -> Stopped. Transitions that touch
the runtime run under one lock per system, so Start, Pause, Resume and
CreateProcess never interleave. Shutdown and Terminate take the lock only
to decide; the stop itself runs outside it (``_stopper``), so a Terminate
can overtake a Shutdown that waits out its grace period. The first stop to
finish moves the system to Stopped and sends the single SystemExited
event.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from ..runtimes._runtime import Runtime
from ..runtimes._stdio import make_stdio
from ..runtimes._stopper import Stopper
from ..wire._requests import RequestContext
from ._documents import ProcessRequest, SystemDocument
from ._handles import EVENT_SYSTEM_EXITED, Subscribers
from ._hresults import (
    E_ACCESSDENIED,
    E_FAIL,
    E_INVALIDARG,
    ERROR_DIRECTORY,
    ERROR_FILE_NOT_FOUND,
    HCS_E_INVALID_STATE,
    HCS_E_SYSTEM_ALREADY_STOPPED,
    Cancelled,
    HcsFailure,
)
from ._processes import HcsProcess


class State(enum.Enum):
    CREATED = "Created"
    RUNNING = "Running"
    PAUSED = "Paused"
    STOPPED = "Stopped"


class ComputeSystem:
    def __init__(
        self,
        namespace: str,
        system_id: str,
        document: SystemDocument,
        on_unused: Callable[[ComputeSystem], None],
    ) -> None:
        self.namespace = namespace
        self.id = system_id
        self.document = document
        self.guid = str(uuid.uuid4())
        self.state = State.CREATED
        self.exit_type: str | None = None
        self.runtime: Runtime | None = None
        self.note: str | None = None
        self.subscribers = Subscribers()
        self.processes: dict[int, HcsProcess] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.stopped = asyncio.Event()
        self.removed = False
        self._on_unused = on_unused
        self._lock = asyncio.Lock()
        self._queued = 0  # transitions waiting for the lock
        self._stopping = 0
        self._stopper = Stopper(lambda grace: self._runtime().stop(grace=grace))
        self._finish: asyncio.Task[None] | None = None
        self._exit_watch: asyncio.Task[None] | None = None

    # ---- creation ----

    def created(self, runtime: Runtime, note: str | None) -> None:
        self.runtime = runtime
        self.note = note
        self.ready.set_result(None)

    def creation_failed(self, failure: HcsFailure) -> None:
        self.ready.set_exception(failure)
        self.ready.exception()  # mark retrieved

    @property
    def mode(self) -> str:
        return self.runtime.mode.value if self.runtime is not None else "none"

    # ---- transitions ----

    @contextlib.asynccontextmanager
    async def _transition(self, request: RequestContext) -> AsyncIterator[None]:
        if self._lock.locked() or self._queued or request.cancelled:
            self._queued += 1
            try:
                await request.cancellable(self._lock.acquire())
            finally:
                self._queued -= 1
        else:
            await self._lock.acquire()  # free and nobody queued: never waits
        try:
            yield
        finally:
            self._lock.release()

    def _require(self, *states: State) -> None:
        if self.state not in states or (self._stopping and State.STOPPED not in states):
            raise HcsFailure(
                HCS_E_INVALID_STATE,
                f"The compute system {self.id!r} is {self._state_words()}; the operation "
                "is not valid in that state.",
            )

    def _state_words(self) -> str:
        return "stopping" if self._stopping and self.state != State.STOPPED else self.state.value

    def _runtime(self) -> Runtime:
        assert self.runtime is not None, "operations run only after creation succeeded"
        return self.runtime

    async def start(self, request: RequestContext) -> None:
        async with self._transition(request):
            self._require(State.CREATED)
            try:
                await self._runtime().start()
            except (RuntimeError, OSError) as err:
                raise HcsFailure(E_FAIL, f"Starting {self.id!r} failed: {err}") from None
            self.state = State.RUNNING
            self._watch_unexpected_exit()

    def _watch_unexpected_exit(self) -> None:
        # A namespace container stops on its own when its init dies; the
        # stops the service asks for itself are not unexpected.
        self._exit_watch = asyncio.create_task(
            self._unexpected_exit(self._runtime().wait_stopped())
        )

    async def _unexpected_exit(self, stopped: Awaitable[None]) -> None:
        await stopped
        if self.state != State.STOPPED and not self._stopping:
            await self._finished("UnexpectedExit")

    async def pause(self, request: RequestContext) -> None:
        async with self._transition(request):
            self._require(State.RUNNING)
            await self._runtime().pause()
            self.state = State.PAUSED

    async def resume(self, request: RequestContext) -> None:
        async with self._transition(request):
            self._require(State.PAUSED)
            await self._runtime().resume()
            self.state = State.RUNNING

    async def stop(
        self,
        request: RequestContext,
        *,
        grace: float | None,
        forced: bool,
        exit_type: str | None = None,
    ) -> None:
        """Shutdown (``forced=False``, SIGTERM then SIGKILL after ``grace``)
        or Terminate (``forced=True``). ``exit_type`` overrides the
        SystemExitStatus ExitType (the service's own shutdown uses
        UnexpectedExit: no client asked for it)."""
        async with self._transition(request):
            if self.state == State.STOPPED:
                raise HcsFailure(
                    HCS_E_SYSTEM_ALREADY_STOPPED, f"The compute system {self.id!r} is stopped."
                )
            if self.state == State.PAUSED:
                await self._runtime().resume()  # a frozen system cannot handle signals
                self.state = State.RUNNING
            started = self.state != State.CREATED
            if started:
                self._stopper.launch(forced=forced, grace=grace)
        exit_type = exit_type or ("ForcedExit" if forced else "GracefulExit")
        if started:
            self._stopping += 1
            try:
                await self._stopper.wait(request, cancellable=not forced)
            except Cancelled:
                raise  # the system keeps running; signals already sent stay sent
            except HcsFailure:
                await self._finished(exit_type)  # still release what can be released
                raise
            finally:
                self._stopping -= 1
        await self._finished(exit_type)

    async def _finished(self, exit_type: str) -> None:
        if self._finish is None:
            self._finish = asyncio.create_task(self._finish_stop(exit_type))
        await asyncio.shield(self._finish)

    async def _finish_stop(self, exit_type: str) -> None:
        self.state = State.STOPPED
        self.exit_type = exit_type
        # Every ProcessExited goes out before the one SystemExited.
        await asyncio.gather(*(p.exited.wait() for p in self.processes.values() if p.running))
        if self.runtime is not None:
            await self.runtime.destroy()
        self.subscribers.emit(EVENT_SYSTEM_EXITED, self.exit_status())
        self.stopped.set()
        self.release_if_unused()

    def exit_status(self) -> dict[str, object]:
        """SystemExitStatus (reference §4.4)."""
        return {"Status": 0, "ExitType": self.exit_type or "None"}

    def release_if_unused(self) -> None:
        if self.state == State.STOPPED and not self.subscribers and not self.removed:
            self._on_unused(self)

    # ---- processes ----

    async def create_process(
        self, request: RequestContext, process: HcsProcess, params: ProcessRequest
    ) -> list[int | None]:
        """Spawn; returns the client's stdio fds (the caller sends and
        closes them)."""
        async with self._transition(request):
            self._require(State.RUNNING)
            runtime = self._runtime()
            try:
                # the runtime's pty: a container's process must find it in its /dev/pts
                console = await runtime.open_console() if params.spec.tty else None
            except (RuntimeError, OSError) as err:
                program = params.spec.argv[0]
                raise HcsFailure(E_FAIL, f"No console for {program!r}: {err}") from None
            plan = make_stdio(params, console)
            try:
                spawned = await runtime.spawn(params.spec, plan.child)
            except BaseException as err:
                plan.close_all()
                if isinstance(err, Exception):
                    raise _spawn_failure(err, params) from None
                raise
            finally:
                plan.close_child_ends()
            process.attach(spawned, plan.console)
            self.processes[process.pid] = process
            return plan.client

    def forget_process_if_unused(self, process: HcsProcess) -> None:
        unused = process.exited.is_set() and not process.subscribers
        if unused and self.processes.get(process.pid) is process:
            del self.processes[process.pid]


def _spawn_failure(err: Exception, params: ProcessRequest) -> HcsFailure:
    program = params.spec.argv[0]
    if isinstance(err, HcsFailure):
        return err
    if isinstance(err, FileNotFoundError | NotADirectoryError):
        if params.spec.cwd is not None and err.filename == params.spec.cwd:
            return HcsFailure(
                ERROR_DIRECTORY, f"The working directory {params.spec.cwd!r} does not exist."
            )
        return HcsFailure(ERROR_FILE_NOT_FOUND, f"The program {program!r} was not found.")
    if isinstance(err, PermissionError):
        return HcsFailure(E_ACCESSDENIED, f"Access denied starting {program!r}: {err}")
    if isinstance(err, ValueError):
        return HcsFailure(E_INVALIDARG, f"Cannot start {program!r}: {err}")
    return HcsFailure(E_FAIL, f"Starting {program!r} failed: {err}")
