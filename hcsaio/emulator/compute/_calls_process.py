"""Process requests: create, open, terminate, signal, info, properties, modify."""

from __future__ import annotations

import json
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..wire._protocol import Frame, Kind, ProtocolError
from ..wire._reply import Reply
from ..wire._requests import RequestContext
from . import _schema as schema
from ._calls_system import created, spawned
from ._documents import parse_optional, parse_process_parameters
from ._hresults import E_INVALIDARG, ERROR_NOT_FOUND, HcsFailure
from ._jsoncheck import any_object, get_int, get_obj, get_str, parse_object
from ._processes import CONTROL_SIGNALS, HcsProcess
from ._systems import ComputeSystem

if TYPE_CHECKING:
    from ..wire._session import Session
    from ._dispatch import Dispatcher

Action = Callable[[RequestContext], Awaitable[Reply]]


def create_process(d: Dispatcher, session: Session, frame: Frame) -> None:
    system = d.target(session, frame.object, ComputeSystem)
    assert isinstance(system, ComputeSystem)
    session.claim_handle_id(frame.object2)
    process = HcsProcess(system.forget_process_if_unused)
    d.bind(session, frame.object2, process)
    parameters = frame.text(0)

    async def work(context: RequestContext) -> Reply:
        try:
            request = parse_process_parameters(parameters)
            await created(system, context)
            await d.context.faults.before("CreateProcess", context)
            fds = await system.create_process(context, process, request)
        except HcsFailure as failure:
            process.fail(failure)
            raise
        except BaseException:
            process.fail(HcsFailure(ERROR_NOT_FOUND, "The process was not created."))
            raise
        return Reply(pid=process.pid, fds=fds)

    d.run(session, frame, work)


def open_process(d: Dispatcher, session: Session, frame: Frame) -> None:
    system = d.target(session, frame.object, ComputeSystem)
    assert isinstance(system, ComputeSystem)
    session.claim_handle_id(frame.object2)
    pid = frame.arg

    async def work(context: RequestContext) -> Reply:
        try:
            await created(system, context)
            process = system.processes.get(pid)
            if process is None or not process.running:
                raise HcsFailure(
                    ERROR_NOT_FOUND, f"No running process {pid} in compute system {system.id!r}."
                )
        finally:
            session.unreserve(frame.object2)
        if not session.closed:
            d.bind(session, frame.object2, process)
        return Reply(pid=pid)

    d.run(session, frame, work)


# ---- operations on a process handle (PROCESS_OP, code = HCS_OPERATION_TYPE) ----


def _terminate(process: HcsProcess, options: str) -> Action:
    parse_optional(options, any_object, "terminate options")

    async def act(context: RequestContext) -> Reply:
        process.signal(signal.SIGKILL)
        return Reply()

    return act


def _signal(process: HcsProcess, options: str) -> Action:
    if not options.strip():
        raise HcsFailure(E_INVALIDARG, "SignalProcess needs SignalProcessOptions.")
    doc = parse_object(options, schema.SIGNAL_OPTIONS, "signal options")
    value = doc["Signal"]
    signum = CONTROL_SIGNALS[value] if isinstance(value, str) else get_int(doc, "Signal") or 0

    async def act(context: RequestContext) -> Reply:
        process.signal(signum)
        return Reply()

    return act


def _info(process: HcsProcess, options: str) -> Action:
    async def act(context: RequestContext) -> Reply:
        return Reply(pid=process.pid)

    return act


def _properties(process: HcsProcess, options: str) -> Action:
    parse_optional(options, any_object, "process property query")

    async def act(context: RequestContext) -> Reply:
        return Reply(json.dumps(process.status()), pid=process.pid)

    return act


def _modify(process: HcsProcess, options: str) -> Action:
    if not options.strip():
        raise HcsFailure(E_INVALIDARG, "ModifyProcess needs a ProcessModifyRequest.")
    doc = parse_object(options, schema.PROCESS_MODIFY, "process modify request")
    operation = get_str(doc, "Operation")
    size = get_obj(doc, "ConsoleSize")
    close = get_obj(doc, "CloseHandle")
    if operation == "ConsoleSize" and size is None:
        raise HcsFailure(E_INVALIDARG, "Operation ConsoleSize needs a ConsoleSize object.")
    if operation == "CloseHandle" and close is None:
        raise HcsFailure(E_INVALIDARG, "Operation CloseHandle needs a CloseHandle object.")

    async def act(context: RequestContext) -> Reply:
        if size is not None and operation == "ConsoleSize":
            process.resize_console(get_int(size, "Height") or 0, get_int(size, "Width") or 0)
        elif close is not None and close["Handle"] in ("StdIn", "All"):
            # The client owns the pipe ends; the service's only stdio is the
            # console it keeps for resizing, which CloseHandle gives up.
            process.close_console()
        return Reply()

    return act


OPERATIONS: dict[int, tuple[str, Callable[[HcsProcess, str], Action]]] = {
    7: ("TerminateProcess", _terminate),
    11: ("SignalProcess", _signal),
    12: ("GetProcessInfo", _info),
    13: ("GetProcessProperties", _properties),
    14: ("ModifyProcess", _modify),
}


def process_op(d: Dispatcher, session: Session, frame: Frame) -> None:
    operation = OPERATIONS.get(frame.code)
    if operation is None:
        raise ProtocolError(f"unknown process operation {frame.code}")
    process = d.target(session, frame.object, HcsProcess)
    assert isinstance(process, HcsProcess)
    name, prepare = operation
    act = prepare(process, frame.text(0))

    async def work(context: RequestContext) -> Reply:
        await spawned(process, context)
        await d.context.faults.before(name, context)
        return await act(context)

    d.run(session, frame, work)


HANDLERS = {
    Kind.CREATE_PROCESS: create_process,
    Kind.OPEN_PROCESS: open_process,
    Kind.PROCESS_OP: process_op,
}
