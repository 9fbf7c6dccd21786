"""From request frames to operations: the HCS API as the service sees it.

Each request frame is handled in two steps. The synchronous step runs in
frame order as the frame is read: it claims new handle ids, binds handles
and reserves compute-system ids, so a client's later frames always see the
effect of its earlier ones. The asynchronous step (``_run``) waits for
creation, injected delays and the operation itself, then sends exactly one
REPLY. Operation-specific logic lives in ``_calls_system`` and
``_calls_process``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..wire._protocol import PROTOCOL_VERSION, Frame, Kind, ProtocolError
from ..wire._reply import Reply, Work
from ..wire._requests import RequestContext
from ..wire._session import Session
from . import _calls_process, _calls_service, _calls_system
from ._context import ServiceContext
from ._handles import HandleRef
from ._hresults import (
    E_FAIL,
    E_HANDLE,
    HCS_E_SYSTEM_NOT_FOUND,
    S_OK,
    HcsFailure,
    as_int32,
)
from ._processes import HcsProcess
from ._systems import ComputeSystem

log = logging.getLogger("hcsaio.emulator")
HCS_E_UNSUPPORTED_PROTOCOL_VERSION = 0x8037010C


class Dispatcher:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.sessions: set[Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- plumbing ----

    def spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every request task (service shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def run(self, session: Session, frame: Frame, work: Work, *, wait: bool = False) -> None:
        request_id = frame.request
        if request_id == 0 or request_id in session.requests:
            raise ProtocolError(f"request id {request_id} is zero or already in flight")
        context = RequestContext(request_id)
        session.requests[request_id] = context
        if wait:
            session.waits.add(request_id)
        self.spawn(self._complete(session, context, work))

    async def _complete(self, session: Session, context: RequestContext, work: Work) -> None:
        reply = Frame(Kind.REPLY, request=context.request_id)
        fds: list[int] = []
        try:
            result = await work(context)
            reply.code = S_OK
            reply.arg = result.pid
            if result.document is not None:
                reply.fields = [result.document]
            for bit, fd in enumerate(result.fds):
                if fd is not None:
                    reply.fdmask |= 1 << bit
                    fds.append(fd)
        except HcsFailure as failure:
            reply.code = as_int32(failure.hresult)
            reply.fields = [failure.result_error()]
        except Exception as err:
            log.exception("request %d of %r failed", context.request_id, session)
            internal = HcsFailure(E_FAIL, f"The emulator failed internally: {err!r}")
            reply.code, reply.fields = as_int32(internal.hresult), [internal.result_error()]
        finally:
            session.requests.pop(context.request_id, None)
            session.waits.discard(context.request_id)
        session.send(reply, fds)

    # ---- handles ----

    def bind(self, session: Session, handle_id: int, target: object) -> HandleRef:
        ref = HandleRef(session, handle_id, target)
        session.unreserve(handle_id)
        session.handles[handle_id] = ref
        if isinstance(target, ComputeSystem | HcsProcess):
            target.subscribers.add(ref)
        return ref

    def target(self, session: Session, handle_id: int, kind: type[object]) -> object:
        ref = session.handles.get(handle_id)
        if ref is None or not isinstance(ref.target, kind | type(None)):
            raise HcsFailure(E_HANDLE, "The handle is invalid.")
        if ref.target is None:
            raise HcsFailure(HCS_E_SYSTEM_NOT_FOUND, "The compute system was never created.")
        return ref.target

    def release(self, ref: HandleRef) -> None:
        target = ref.target
        if isinstance(target, ComputeSystem):
            target.subscribers.discard(ref)
            _calls_system.last_handle_closed(self, target)
        elif isinstance(target, HcsProcess):
            target.subscribers.discard(ref)
            target.release()

    def session_closed(self, session: Session) -> None:
        self.sessions.discard(session)
        for ref in list(session.handles.values()):
            self.release(ref)
        session.handles.clear()

    # ---- routing ----

    def dispatch(self, session: Session, frame: Frame) -> None:
        if not session.greeted:
            if frame.kind != Kind.HELLO:
                raise ProtocolError("the first frame must be HELLO")
            self._hello(session, frame)
            return
        handler = _HANDLERS.get(frame.kind)
        if handler is None:
            raise ProtocolError(f"{frame.kind.name} is not a request")
        try:
            handler(self, session, frame)
        except HcsFailure as failure:
            # A synchronous refusal still answers through the request's REPLY.
            self.run(session, frame, _refuse(failure))

    def _hello(self, session: Session, frame: Frame) -> None:
        reply = Frame(Kind.REPLY, request=frame.request, arg=PROTOCOL_VERSION)
        if frame.arg != PROTOCOL_VERSION:
            reply.code = as_int32(HCS_E_UNSUPPORTED_PROTOCOL_VERSION)
            session.send(reply)
            raise ProtocolError(f"protocol version {frame.arg} (service speaks {PROTOCOL_VERSION})")
        session.greeted = True
        reply.fields = [self.context.hello_document()]
        session.send(reply)

    def close_handle(self, session: Session, frame: Frame) -> None:
        ref = session.handles.pop(frame.object, None)
        if ref is not None:
            self.release(ref)

    def cancel(self, session: Session, frame: Frame) -> None:
        context = session.requests.get(frame.request)
        if context is not None:
            context.cancel()


def _refuse(failure: HcsFailure) -> Work:
    async def work(context: RequestContext) -> Reply:
        raise failure

    return work


Handler = Callable[[Dispatcher, Session, Frame], None]

_HANDLERS: dict[Kind, Handler] = {
    Kind.CLOSE_HANDLE: Dispatcher.close_handle,
    Kind.CANCEL: Dispatcher.cancel,
    **_calls_system.HANDLERS,
    **_calls_process.HANDLERS,
    **_calls_service.HANDLERS,
}
