"""Client handles on the service side, and event fan-out to them.

A handle id is chosen by libhcsemu, unique within its connection; each
open handle is a ``HandleRef`` held by both the client's session (to
resolve ids) and the target object (to send it events). Events go to every
handle of the target, whichever client holds it, as HCS delivers an event
to each handle that registered a callback; libhcsemu drops events for
handles without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

EVENT_SYSTEM_EXITED = 0x00000001
EVENT_PROCESS_EXITED = 0x00010000


class EventSink(Protocol):
    def send_event(self, handle_id: int, event_type: int, data: str | None) -> None: ...


@dataclass(eq=False)
class HandleRef:
    sink: EventSink
    id: int
    target: object


class Subscribers:
    """The open handles of one compute system or process."""

    def __init__(self) -> None:
        self._refs: set[HandleRef] = set()

    def add(self, ref: HandleRef) -> None:
        self._refs.add(ref)

    def discard(self, ref: HandleRef) -> None:
        self._refs.discard(ref)

    def __len__(self) -> int:
        return len(self._refs)

    def emit(self, event_type: int, data: dict[str, object] | None) -> None:
        text = json.dumps(data) if data is not None else None
        for ref in list(self._refs):
            ref.sink.send_event(ref.id, event_type, text)
