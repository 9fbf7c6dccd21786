"""Compute-system requests: create, open, the lifecycle operations, enumerate,
wait for exit."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..runtimes._runtime_select import choose_runtime
from ..wire._protocol import Frame, Kind, ProtocolError
from ..wire._reply import Reply
from ..wire._requests import RequestContext, detached
from . import _schema as schema
from ._documents import parse_compute_system, parse_optional
from ._hresults import (
    E_FAIL,
    E_INVALIDARG,
    ERROR_NOT_FOUND,
    ERROR_NOT_SUPPORTED,
    HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION,
    HCS_E_SYSTEM_NOT_FOUND,
    HcsFailure,
)
from ._jsoncheck import Spec, any_object, get_bool, get_str, parse_object
from ._processes import HcsProcess
from ._properties import enumerate_systems, system_properties
from ._registry import check_id
from ._systems import ComputeSystem, State

if TYPE_CHECKING:
    from ..wire._session import Session
    from ._dispatch import Dispatcher

Action = Callable[[RequestContext], Awaitable[Reply]]
Prepare = Callable[["Dispatcher", ComputeSystem, str], Action]


async def settled(future: asyncio.Future[None]) -> None:
    """Wait for ``future`` without raising its exception."""
    await asyncio.wait([future])


async def _settled_cancellably(future: asyncio.Future[None], context: RequestContext) -> None:
    """``settled(future)`` as a cancellable wait of the request, skipped
    when there is nothing to wait for (this is on every request's path)."""
    if not future.done() or context.cancelled:
        await context.cancellable(settled(future))


async def created(system: ComputeSystem, context: RequestContext) -> None:
    """Wait until creation has finished; a failed creation means the
    system does not exist."""
    await _settled_cancellably(system.ready, context)
    if system.ready.exception() is not None or system.removed:
        raise HcsFailure(
            HCS_E_SYSTEM_NOT_FOUND, f"The compute system {system.id!r} does not exist."
        )


async def spawned(process: HcsProcess, context: RequestContext) -> None:
    """Wait until the process's creation has finished; a failed creation
    means there is no such process."""
    await _settled_cancellably(process.ready, context)
    if process.ready.exception() is not None:
        raise HcsFailure(ERROR_NOT_FOUND, "The process was never created.")


# ---- create and open ----


def create_system(d: Dispatcher, session: Session, frame: Frame) -> None:
    session.claim_handle_id(frame.object)
    namespace, system_id, configuration = frame.text(0), frame.text(1), frame.text(2)
    ref = d.bind(session, frame.object, None)  # a tombstone until creation succeeds
    check_id(namespace, "compute system namespace", allow_empty=True)
    check_id(system_id, "compute system id")
    document = parse_compute_system(configuration, system_id)
    system = d.context.registry.reserve(namespace, system_id, document)
    ref.target = system
    system.subscribers.add(ref)

    async def work(context: RequestContext) -> Reply:
        try:
            await d.context.faults.before("Create", context)
            runtime, note = await choose_runtime(document.spec, d.context.mode)
        except BaseException as err:
            failure = err if isinstance(err, HcsFailure) else _creation_failure(err)
            d.context.registry.remove(system)
            system.creation_failed(failure)
            if isinstance(err, Exception):
                raise failure from None
            raise
        system.created(runtime, note)
        return Reply()

    d.run(session, frame, work)


def _creation_failure(err: BaseException) -> HcsFailure:
    if isinstance(err, ValueError):
        return HcsFailure(E_INVALIDARG, f"The compute system cannot be created: {err}")
    return HcsFailure(E_FAIL, f"The compute system cannot be created: {err}")


def open_system(d: Dispatcher, session: Session, frame: Frame) -> None:
    session.claim_handle_id(frame.object)
    namespace, system_id = frame.text(0), frame.text(1)
    check_id(namespace, "compute system namespace", allow_empty=True)
    check_id(system_id, "compute system id")

    async def work(context: RequestContext) -> Reply:
        try:
            system = d.context.registry.find(namespace, system_id)
            if system is None:
                raise HcsFailure(HCS_E_SYSTEM_NOT_FOUND, f"No compute system has id {system_id!r}.")
            await created(system, context)
        finally:
            session.unreserve(frame.object)
        if not session.closed:
            d.bind(session, frame.object, system)
        return Reply()

    d.run(session, frame, work)


def last_handle_closed(d: Dispatcher, system: ComputeSystem) -> None:
    if system.subscribers:
        return
    terminate = system.document.terminate_on_last_handle_closed
    if terminate and system.state != State.STOPPED and not system.removed:
        d.spawn(_terminate_unreferenced(system))
    else:
        system.release_if_unused()


async def _terminate_unreferenced(system: ComputeSystem) -> None:
    """ShouldTerminateOnLastHandleClosed: the last handle is gone."""
    await settled(system.ready)
    if system.ready.exception() is None:
        with contextlib.suppress(HcsFailure):
            await system.stop(detached(), grace=None, forced=True)


# ---- lifecycle operations (one SYSTEM_OP frame, code = HCS_OPERATION_TYPE) ----


Transition = Callable[[ComputeSystem, RequestContext], Awaitable[None]]


def _transition(spec: Spec, what: str, run: Transition) -> Prepare:
    """An operation whose options are only checked: Start, Terminate,
    Pause, Resume."""

    def prepare(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
        parse_optional(options, spec, what)

        async def act(context: RequestContext) -> Reply:
            await run(system, context)
            return Reply()

        return act

    return prepare


def _shutdown(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    doc = parse_optional(options, schema.SHUTDOWN_OPTIONS, "shutdown options")
    if get_str(doc, "Type") not in (None, "Shutdown"):
        raise HcsFailure(ERROR_NOT_SUPPORTED, f"A container cannot {get_str(doc, 'Type')}.")
    timeout = doc.get("TimeoutSeconds")
    grace = float(timeout) if isinstance(timeout, int | float) else d.context.shutdown_grace
    if get_bool(doc, "Force"):
        grace = 0.0

    async def act(context: RequestContext) -> Reply:
        await system.stop(context, grace=grace, forced=False)
        return Reply()

    return act


def _get_properties(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    query = parse_optional(options, schema.PROPERTY_QUERY, "property query")

    async def act(context: RequestContext) -> Reply:
        return Reply(json.dumps(await system_properties(system, query)))

    return act


def _refused(hresult: int, message: str) -> Action:
    async def act(context: RequestContext) -> Reply:
        raise HcsFailure(hresult, message)

    return act


def _save(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    parse_optional(options, schema.SAVE_OPTIONS, "save options")
    return _refused(ERROR_NOT_SUPPORTED, "Saving state needs a virtual machine.")


def _crash(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    parse_optional(options, schema.CRASH_OPTIONS, "crash options")
    return _refused(ERROR_NOT_SUPPORTED, "Crashing a guest needs a virtual machine.")


def _modify(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    if not options.strip():
        raise HcsFailure(E_INVALIDARG, "The modify request is empty.")
    doc = parse_object(options, schema.MODIFY_SETTING, "modify request")
    path = get_str(doc, "ResourcePath") or ""
    return _refused(
        ERROR_NOT_SUPPORTED,
        f"The emulator cannot modify {path!r} of a running container.",
    )


def _live_migration(d: Dispatcher, system: ComputeSystem, options: str) -> Action:
    return _refused(
        HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION, "Live migration needs a virtual machine."
    )


# HCS_OPERATION_TYPE -> (fault/operation name, preparation)
OPERATIONS: dict[int, tuple[str, Prepare]] = {
    2: ("Start", _transition(any_object, "start options", lambda s, c: s.start(c))),
    3: ("Shutdown", _shutdown),
    4: ("Pause", _transition(schema.PAUSE_OPTIONS, "pause options", lambda s, c: s.pause(c))),
    5: ("Resume", _transition(any_object, "resume options", lambda s, c: s.resume(c))),
    6: ("Save", _save),
    7: (
        "Terminate",
        _transition(
            any_object, "terminate options", lambda s, c: s.stop(c, grace=None, forced=True)
        ),
    ),
    8: ("Modify", _modify),
    9: ("GetProperties", _get_properties),
    15: ("Crash", _crash),
    19: ("LiveMigration", _live_migration),
}


def system_op(d: Dispatcher, session: Session, frame: Frame) -> None:
    operation = OPERATIONS.get(frame.code)
    if operation is None:
        raise ProtocolError(f"unknown compute-system operation {frame.code}")
    system = d.target(session, frame.object, ComputeSystem)
    assert isinstance(system, ComputeSystem)
    name, prepare = operation
    act = prepare(d, system, frame.text(0))

    async def work(context: RequestContext) -> Reply:
        await created(system, context)
        await d.context.faults.before(name, context)
        return await act(context)

    d.run(session, frame, work)


def enumerate_(d: Dispatcher, session: Session, frame: Frame) -> None:
    namespace = frame.text(0)
    check_id(namespace, "compute system namespace", allow_empty=True)
    query = parse_optional(frame.text(1), schema.SYSTEM_QUERY, "system query")

    async def work(context: RequestContext) -> Reply:
        await d.context.faults.before("Enumerate", context)
        systems = d.context.registry.in_namespace(namespace)
        return Reply(json.dumps(enumerate_systems(systems, query)))

    d.run(session, frame, work)


def wait_exit(d: Dispatcher, session: Session, frame: Frame) -> None:
    target = d.target(session, frame.object, object)

    async def work(context: RequestContext) -> Reply:
        if isinstance(target, ComputeSystem):
            await created(target, context)
            await context.cancellable(target.stopped.wait())
            return Reply(json.dumps(target.exit_status()))
        assert isinstance(target, HcsProcess)
        await spawned(target, context)
        await context.cancellable(target.exited.wait())
        return Reply(json.dumps(target.status()))

    d.run(session, frame, work, wait=True)


HANDLERS = {
    Kind.CREATE_SYSTEM: create_system,
    Kind.OPEN_SYSTEM: open_system,
    Kind.SYSTEM_OP: system_op,
    Kind.ENUMERATE: enumerate_,
    Kind.WAIT_EXIT: wait_exit,
}
