"""Asking HCS about systems: live properties, tolerant of states that have none.

Statistics and the process list exist only for a running (or paused)
system; HCS answers InvalidState for a created or stopped one and
NotSupported for property types a container does not have. The read
commands show ``-`` for those instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, TypeVar

import msgspec

from .. import Container, errors, open_compute_system
from ..schema import v2
from ._context import QUERY_TIMEOUT

T = TypeVar("T")
R = TypeVar("R")

#: Answers meaning "this system has no such property (now)".
NOT_AVAILABLE: Final = (
    errors.InvalidState,
    errors.NotSupported,
    errors.AlreadyStopped,
    errors.InvalidArgument,
)
#: What ``list`` and ``stats`` show per system.
LIVE: Final = [v2.PropertyType.STATISTICS, v2.PropertyType.PROCESS_LIST]
#: How many systems are queried at once.
CONCURRENCY: Final = 8


async def bounded_map(
    items: Iterable[T], fn: Callable[[T], Awaitable[R]], limit: int = CONCURRENCY
) -> list[R]:
    """``fn`` over ``items`` concurrently, at most ``limit`` at a time, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def properties_or_none(
    container: Container, types: Sequence[str | v2.PropertyType]
) -> v2.Properties | None:
    try:
        return await container.properties(list(types), timeout=QUERY_TIMEOUT)
    except NOT_AVAILABLE:
        return None


async def live_snapshot(basic: v2.Properties) -> v2.Properties | None:
    """``basic`` (from enumerate) with Statistics and ProcessList when the
    system has them; None if the system is gone by now."""
    if basic.state == "Stopped" or basic.stopped:
        return basic
    try:
        async with await open_compute_system(basic.id, timeout=QUERY_TIMEOUT) as container:
            live = await properties_or_none(container, LIVE)
    except errors.NotFound:
        return None
    return live or basic


def merge(base: v2.Properties, extra: v2.Properties) -> v2.Properties:
    """``base`` with every field ``extra`` has and ``base`` lacks."""
    updates = {}
    for field in msgspec.structs.fields(v2.Properties):
        value = getattr(extra, field.name)
        if value != field.default and getattr(base, field.name) == field.default:
            updates[field.name] = value
    return msgspec.structs.replace(base, **updates) if updates else base


async def everything(container: Container) -> v2.Properties:
    """All properties the system will give: the basic ones, then each
    property type asked for on its own (one unsupported type would fail a
    combined query), merged."""
    props = await container.properties(timeout=QUERY_TIMEOUT)
    answers = await bounded_map(list(v2.PropertyType), lambda t: properties_or_none(container, [t]))
    for answer in answers:
        if answer is not None:
            props = merge(props, answer)
    return props
