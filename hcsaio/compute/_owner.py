"""The compute API's side of owning a handle: its callback's raw events
become typed :class:`Event` objects, fanned out to ``events()`` iterators.

(The handle state machine itself is ``_core._handle``, which stays below the
compute API and so cannot know its event types.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .._core._handle import HandleOwner
from .._native.library import Library
from ._events import Event, EventHub, decode_event


class EventOwner(HandleOwner):
    """Base of Container and Process: a handle owner with typed events."""

    _hub: EventHub

    def _init_handle(self, library: Library) -> None:
        super()._init_handle(library)
        self._hub = EventHub()

    def _deliver(self, event_type: int, data: bytes | None) -> None:
        self._on_event(decode_event(event_type, data))

    def _on_event(self, event: Event) -> None:
        self._hub.publish(event)

    def _released(self) -> None:
        self._hub.close()

    def events(self) -> AsyncIterator[Event]:
        """Events from now on, as typed objects. The iteration ends after the
        terminal event (exit, service disconnect) or when the handle closes;
        subscribing after the end yields the terminal event once."""
        return self._hub.subscribe()
