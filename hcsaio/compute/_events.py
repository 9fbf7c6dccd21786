"""Typed HCS events and their fan-out to subscribers.

HCS reports system and process events through the handle's event
callback: a type code and an optional JSON payload (``HCS_EVENT``). The
bridge copies both; here they become small frozen dataclasses, and an
:class:`EventHub` hands each one to every current subscriber of
``Container.events()`` (or ``Process.events()``). Subscribers never block
the dispatcher: each has an unbounded queue, and an iterator ends after the
terminal event (exit or service disconnect) or when the handle is closed.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..schema import v2

SYSTEM_EXITED: Final = 0x00000001
CRASH_INITIATED: Final = 0x00000002
CRASH_REPORT: Final = 0x00000003
RDP_ENHANCED_MODE_STATE_CHANGED: Final = 0x00000004
SILO_JOB_CREATED: Final = 0x00000005
GUEST_CONNECTION_CLOSED: Final = 0x00000006
PROCESS_EXITED: Final = 0x00010000
OPERATION_CALLBACK: Final = 0x01000000
SERVICE_DISCONNECT: Final = 0x02000000


@dataclass(frozen=True, slots=True)
class Event:
    """An HCS event. ``type`` is the HCS_EVENT_TYPE code, ``data`` the raw
    JSON payload HCS attached (``None`` when it attached none)."""

    type: int
    data: bytes | None

    terminal: ClassVar[bool] = False

    def json(self) -> Any:
        """The payload decoded as plain JSON values (None if absent)."""
        return msgspec.json.decode(self.data) if self.data else None


@dataclass(frozen=True, slots=True)
class SystemExited(Event):
    """The compute system stopped; ``status`` says how (GracefulExit after a
    shutdown, ForcedExit after terminate, UnexpectedExit ...)."""

    status: v2.SystemExitStatus
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class CrashInitiated(Event):
    """The guest started crashing; the payload is a CrashReport."""


@dataclass(frozen=True, slots=True)
class CrashReport(Event):
    """A crash report is available; the payload is a CrashReport."""


@dataclass(frozen=True, slots=True)
class GuestConnectionClosed(Event):
    """The host lost its connection to the guest."""


@dataclass(frozen=True, slots=True)
class RdpEnhancedModeStateChanged(Event):
    pass


@dataclass(frozen=True, slots=True)
class SiloJobCreated(Event):
    """Reserved by HCS for future use."""


@dataclass(frozen=True, slots=True)
class ProcessExited(Event):
    """A process exited; ``status`` is its ProcessStatus."""

    status: v2.ProcessStatus
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ServiceDisconnected(Event):
    """The client lost the HCS service (it crashed or stopped); the handle is
    dead and no further event will come."""

    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    """An event type this version of hcsaio does not know (newer hosts)."""


_SIMPLE: Final[dict[int, type[Event]]] = {
    CRASH_INITIATED: CrashInitiated,
    CRASH_REPORT: CrashReport,
    GUEST_CONNECTION_CLOSED: GuestConnectionClosed,
    RDP_ENHANCED_MODE_STATE_CHANGED: RdpEnhancedModeStateChanged,
    SILO_JOB_CREATED: SiloJobCreated,
    SERVICE_DISCONNECT: ServiceDisconnected,
}


def decode_event(event_type: int, data: bytes | None) -> Event:
    """Build the typed event. A payload that does not decode is kept raw in
    ``data`` rather than lost (the status then has its defaults)."""
    if event_type == SYSTEM_EXITED:
        return SystemExited(event_type, data, _status(data, v2.SystemExitStatus))
    if event_type == PROCESS_EXITED:
        return ProcessExited(event_type, data, _status(data, v2.ProcessStatus))
    return _SIMPLE.get(event_type, UnknownEvent)(event_type, data)


def _status(data: bytes | None, type_: Any) -> Any:
    if not data:
        return type_()
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.MsgspecError:
        return type_()


class EventHub:
    """Fans events out to subscribers; remembers the terminal event so late
    subscribers still learn how things ended."""

    def __init__(self) -> None:
        self._subscribers: set[MemoryObjectSendStream[Event]] = set()
        self.final: Event | None = None
        self._closed = False

    def publish(self, event: Event) -> None:
        if self.final is not None:
            return  # nothing follows a terminal event
        if event.terminal:
            self.final = event
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(send)
        if event.terminal:
            self._end_all()

    def close(self) -> None:
        """The handle is closed: end every subscription."""
        self._closed = True
        self._end_all()

    def _end_all(self) -> None:
        for send in self._subscribers:
            send.close()
        self._subscribers.clear()

    def subscribe(self) -> AsyncIterator[Event]:
        """Start receiving now; iterate the result to get the events."""
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)
        if self.final is not None:
            send.send_nowait(self.final)
            send.close()
        elif self._closed:
            send.close()
        else:
            self._subscribers.add(send)
        return _iterate(receive, send, self)


async def _iterate(
    receive: MemoryObjectReceiveStream[Event], send: MemoryObjectSendStream[Event], hub: EventHub
) -> AsyncIterator[Event]:
    try:
        async with receive:
            async for event in receive:
                yield event
    finally:
        hub._subscribers.discard(send)
        send.close()
